"""The fault tests: real crawls against hostile local servers.

Tests marked ``faults`` are the long ones; they run under ``make faults`` (``-m faults``) and are
left out of a plain ``pytest`` run, which keeps the fast ones."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: long fault-injection crawls (make faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.markexpr:  # an explicit -m decides
        return
    keep, skip = [], []
    for item in items:
        (skip if item.get_closest_marker("faults") else keep).append(item)
    if skip:
        config.hook.pytest_deselected(items=skip)
        items[:] = keep
