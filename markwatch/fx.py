"""Exchange rates for the price check: one dated JSON file, with its source, that an admin
refreshes with ``markwatch fx load FILE``.

    {"as_of": "2026-11-30", "source": "...", "base": "USD",
     "per_usd": {"USD": 1, "THB": 32.5, "IDR": 16500, ...}}

Which file is read: ``MARKWATCH_FX_RATES_FILE`` if set, else ``<data dir>/fx_rates.json`` once
an admin has loaded one, else the bundled ``markwatch/data/fx_rates.json``. A listing in a
currency the file does not name simply gets no price reason.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from markwatch.settings import Settings

BUNDLED = Path(__file__).resolve().parent / "data" / "fx_rates.json"
LOADED_NAME = "fx_rates.json"
MAX_BYTES = 1_000_000
STALE_DAYS = 45


class RatesError(ValueError):
    """A rates file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Rates:
    as_of: date
    source: str
    per_usd: dict[str, float]

    def as_config(self) -> tuple[tuple[str, float], ...]:
        return tuple(sorted(self.per_usd.items()))

    def age_days(self, today: date | None = None) -> int:
        return ((today or date.today()) - self.as_of).days

    def to_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "source": self.source, "base": "USD",
                "per_usd": dict(sorted(self.per_usd.items()))}


def parse_rates(raw: bytes | str, *, today: date | None = None) -> Rates:
    """Validate a rates document. Raises :class:`RatesError`."""
    if len(raw) > MAX_BYTES:
        raise RatesError(f"larger than {MAX_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RatesError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RatesError("not a JSON object")
    try:
        as_of = date.fromisoformat(str(doc.get("as_of")))
    except ValueError:
        raise RatesError("as_of must be a date (YYYY-MM-DD)") from None
    if as_of > (today or date.today()):
        raise RatesError(f"as_of {as_of} is in the future")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise RatesError("source must say where the rates come from")
    if doc.get("base", "USD") != "USD":
        raise RatesError("rates must be units per 1 USD (base USD)")
    table = doc.get("per_usd")
    if not isinstance(table, dict) or not table:
        raise RatesError("per_usd must be an object of currency: rate")
    out: dict[str, float] = {}
    for code, value in table.items():
        if not re.fullmatch(r"[A-Z]{3}", str(code)):
            raise RatesError(f"{code!r} is not an ISO 4217 code")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RatesError(f"{code}: rate must be a number")
        if not math.isfinite(value) or value <= 0:
            raise RatesError(f"{code}: rate must be a positive number")
        out[code] = float(value)
    if out.get("USD") != 1.0:
        raise RatesError("per_usd must hold USD: 1")
    return Rates(as_of, source.strip(), out)


def active_path(settings: Settings) -> Path:
    if settings.fx_rates_file is not None:
        return settings.fx_rates_file
    loaded = settings.data_dir / LOADED_NAME
    return loaded if loaded.exists() else BUNDLED


@lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> Rates:
    return parse_rates(Path(path).read_bytes())


def current_rates(settings: Settings) -> Rates:
    """The rates in force (re-read when the file changes)."""
    path = active_path(settings)
    try:
        st = path.stat()
        return _read(str(path), st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise RatesError(f"cannot read {path}: {exc}") from None


def load_rates_file(settings: Settings, source: Path) -> tuple[Rates, Path]:
    """Validate ``source`` and install it as ``<data dir>/fx_rates.json`` (atomically)."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise RatesError(f"cannot read {source}: {exc}") from None
    rates = parse_rates(raw)
    target = settings.data_dir / LOADED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fx_rates.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(rates.to_json(), fh, ensure_ascii=False, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rates, target
