"""Can a mark support a notice to this marketplace? The checks a marketplace makes before it acts.

A right is territorial: a platform removes a listing only on a right valid where it operates
(Alibaba's IPP, Amazon Brand Registry and Shopee all ask for a registration in a country they
serve). A mark supports a notice to a marketplace when it is

* registered (not pending, expired or cancelled) and not past its expiry date, and
* registered in at least one country the marketplace sells in: a national registration, an EU
  trade mark for a member state, a Madrid designation (``db.jurisdictions.how_protected``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from db.jurisdictions import describe, how_protected
from db.models import Mark, Marketplace, MarkStatus

#: offices whose registrations cover one territory, when a mark lists no jurisdictions
OFFICE_TERRITORY = {"EUIPO": "EU", "UKIPO": "GB", "USPTO": "US", "CNIPA": "CN", "JPO": "JP",
                    "IPOS": "SG", "MYIPO": "MY", "DIP": "TH", "KIPO": "KR", "IPAU": "AU",
                    "CIPO": "CA", "DPMA": "DE", "INPI": "FR"}

#: how far ahead the dashboard warns of a mark's expiry
EXPIRY_WARNING_DAYS = 90


def marketplace_countries(market: Marketplace) -> list[str]:
    countries = [str(c).upper() for c in (market.countries or [])]
    if not countries and market.country:
        countries = [market.country.upper()]
    return countries


def mark_jurisdictions(mark: Mark) -> list[str]:
    """Where the mark is on record (``XX``, ``EU``, ``WO:XX``); with none listed, its office's
    territory."""
    held = [str(j).upper() for j in (mark.jurisdictions or [])]
    if not held and mark.office.upper() in OFFICE_TERRITORY:
        held = [OFFICE_TERRITORY[mark.office.upper()]]
    return held


@dataclass(frozen=True)
class Support:
    mark: Mark
    ok: bool
    why: str  # in words, for the case page and the refusal


def support(mark: Mark, market: Marketplace, today: date) -> Support:
    """Whether ``mark`` can support a notice to ``market`` on ``today``, and why (not)."""
    name = f"{mark.word_mark} ({mark.office} {mark.registration_number})"
    if getattr(mark, "retired_at", None) is not None:
        return Support(mark, False, f"{name} is retired: the rights holder no longer enforces it")
    if mark.status is not MarkStatus.REGISTERED:
        return Support(mark, False, f"{name} is {mark.status.value}, not registered")
    if mark.expires_on is not None and mark.expires_on < today:
        return Support(mark, False, f"{name} expired on {mark.expires_on.isoformat()}")
    countries = marketplace_countries(market)
    if not countries:
        return Support(mark, True, f"{name}: {market.name} names no country it sells in")
    held = mark_jurisdictions(mark)
    where = sorted(c for c in set(countries) if how_protected(held, c))
    if not where:
        return Support(mark, False, f"{name} is registered in {describe(held)}, and {market.name} sells in "
                       f"{', '.join(countries)}: the right is not valid where the marketplace "
                       "operates")
    return Support(mark, True, f"{name} is valid in {', '.join(where)}, where {market.name} sells")


def supports(marks: Iterable[Mark], market: Marketplace, today: date) -> list[Support]:
    return [support(m, market, today) for m in marks]


def refusal(checked: Sequence[Support]) -> str | None:
    """The reason a notice resting on these marks must not go out, or None when each can
    support it."""
    bad = [s.why for s in checked if not s.ok]
    if not bad:
        return None
    return ("a marketplace acts only on a right valid where it operates, and this notice rests "
            "on a mark that is not: " + "; ".join(bad) + ". Remove those listings from the case, "
            "or record a registration that covers the marketplace's countries.")


def expiring(marks: Iterable[Mark], today: date, *, days: int = EXPIRY_WARNING_DAYS
             ) -> list[tuple[Mark, int]]:
    """Registered marks whose registration ends within ``days`` (or has ended): (mark, days
    left, negative when past), soonest first."""
    out = [(m, (m.expires_on - today).days) for m in marks
           if m.expires_on is not None and m.status is MarkStatus.REGISTERED
           and (m.expires_on - today).days <= days]
    return sorted(out, key=lambda t: t[1])
