"""markwatch: trademark-infringement monitoring for marketplaces."""

__version__ = "0.1.0"
