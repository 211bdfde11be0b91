"""Where a mark is protected, and whether that covers the country a storefront sells in.

A mark's ``jurisdictions`` list holds one entry per place it is registered:

- ``TH``, ``SG``, ``CN`` ...: a national registration (ISO 3166 alpha-2 country code);
- ``EU``: a European Union trade mark (EUIPO), in force in the 27 member states;
- ``WO:TH``: a designation of that country under the Madrid Protocol (WIPO international
  registration).

The RCEP markets are the 15 parties to the Regional Comprehensive Economic Partnership.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EU_MEMBERS = frozenset((
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
))
RCEP = ("AU", "BN", "KH", "CN", "ID", "JP", "KR", "LA", "MY", "MM", "NZ", "PH", "SG", "TH", "VN")
_TOKEN = re.compile(r"^(EU|WO:[A-Z]{2}|[A-Z]{2})$")


def check_token(token: str) -> str:
    """``token`` upper-cased, or ValueError if it is none of ``XX``, ``EU``, ``WO:XX``."""
    t = token.strip().upper()
    if not _TOKEN.match(t):
        raise ValueError(f"{token!r} is not a jurisdiction (XX, EU or WO:XX)")
    return t


def how_protected(jurisdictions: Iterable[str], country: str | None) -> str | None:
    """How the mark is protected in ``country``: ``"national registration"``, ``"EU trade
    mark"``, ``"Madrid designation"``; None if it is not (or the country is unknown)."""
    if not country:
        return None
    c = country.upper()
    tokens = {str(t).strip().upper() for t in jurisdictions}
    if c in tokens:
        return "national registration"
    if c in EU_MEMBERS and "EU" in tokens:
        return "EU trade mark"
    if f"WO:{c}" in tokens:
        return "Madrid designation"
    return None


def describe(jurisdictions: Iterable[str]) -> str:
    parts = []
    for t in jurisdictions:
        t = str(t).upper()
        parts.append(f"{t[3:]} (Madrid)" if t.startswith("WO:") else t)
    return ", ".join(parts) or "nowhere on record"


def unprotected_reason(mark: str, jurisdictions: list[str], marketplace: str,
                       country: str | None) -> dict[str, object] | None:
    """The alert reason saying the mark is not registered where the storefront sells, or None
    when it is (or when the storefront's country is not known)."""
    if not country or how_protected(jurisdictions, country):
        return None
    return {
        "check": "jurisdiction",
        "detail": f"{mark} is not registered in {country.upper()}, where {marketplace} sells "
                  f"(registered: {describe(jurisdictions)}); enforcement there needs a "
                  "registration or another right",
        "span": country.upper(),
        "points": 0,
        "mark": mark,
    }
