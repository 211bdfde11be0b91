"""Exchange rates for the price check: the dated file, its checks and the admin command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from markwatch.cli import main
from markwatch.fx import BUNDLED, RatesError, active_path, current_rates, parse_rates
from markwatch.screening import matcher_config
from markwatch.settings import get_settings


def _doc(**over) -> str:
    d = {"as_of": "2026-11-02", "source": "Bank of Thailand reference rates, 2 Nov 2026",
         "base": "USD", "per_usd": {"USD": 1, "THB": 33.1, "IDR": 16000}}
    d.update(over)
    return json.dumps(d)


def test_the_bundled_file_is_dated_sourced_and_covers_the_region() -> None:
    rates = parse_rates(BUNDLED.read_bytes())
    assert rates.as_of <= date.today() and "not a market feed" in rates.source
    assert {"USD", "EUR", "GBP", "CNY", "THB", "VND", "IDR", "MYR", "PHP", "SGD"} <= set(
        rates.per_usd)
    assert active_path(get_settings()) == BUNDLED
    assert dict(matcher_config(get_settings()).fx_per_usd)["IDR"] == rates.per_usd["IDR"]


@pytest.mark.parametrize(("raw", "why"), [
    ("{", "not JSON"),
    ("[]", "not a JSON object"),
    (_doc(as_of="yesterday"), "as_of must be a date"),
    (_doc(as_of="2999-01-01"), "in the future"),
    (_doc(source=""), "source must say"),
    (_doc(base="EUR"), "base USD"),
    (_doc(per_usd={}), "per_usd must be"),
    (_doc(per_usd={"USD": 1, "thb": 33}), "not an ISO 4217 code"),
    (_doc(per_usd={"USD": 1, "THB": "33"}), "must be a number"),
    (_doc(per_usd={"USD": 1, "THB": True}), "must be a number"),
    (_doc(per_usd={"USD": 1, "THB": 0}), "positive"),
    (_doc(per_usd={"USD": 1, "THB": -3}), "positive"),
    (_doc(per_usd={"USD": 2, "THB": 33}), "USD: 1"),
    (_doc(per_usd={"THB": 33}), "USD: 1"),
    ("x" * 1_000_001, "larger than"),
])
def test_bad_rates_files_are_refused(raw, why) -> None:
    with pytest.raises(RatesError, match=why):
        parse_rates(raw)


def test_nan_is_refused() -> None:
    with pytest.raises(RatesError, match="positive"):
        parse_rates('{"as_of": "2026-11-02", "source": "x", "per_usd": {"USD": 1, "THB": NaN}}')


def test_admin_loads_a_file_and_the_price_check_uses_it(tmp_path: Path) -> None:
    src = tmp_path / "rates.json"
    src.write_text(_doc(), encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["fx", "load", str(src)])
    assert out.exit_code == 0, out.output
    assert "loaded 3 rates as of 2026-11-02" in out.output
    s = get_settings()
    assert active_path(s) == s.data_dir / "fx_rates.json"
    assert current_rates(s).per_usd == {"USD": 1.0, "THB": 33.1, "IDR": 16000.0}
    assert dict(matcher_config(s).fx_per_usd) == {"IDR": 16000.0, "THB": 33.1, "USD": 1.0}
    shown = runner.invoke(main, ["fx", "show"])
    assert shown.exit_code == 0 and "Bank of Thailand" in shown.output
    assert "1 USD = 33.1 THB" in shown.output
    # a second load replaces it; a bad one leaves it in force
    src.write_text(_doc(per_usd={"USD": 1, "THB": 34}), encoding="utf-8")
    assert runner.invoke(main, ["fx", "load", str(src)]).exit_code == 0
    assert current_rates(s).per_usd["THB"] == 34.0
    src.write_text(_doc(per_usd={"USD": 1, "THB": -1}), encoding="utf-8")
    bad = runner.invoke(main, ["fx", "load", str(src)])
    assert bad.exit_code != 0 and "positive" in bad.output
    assert current_rates(s).per_usd["THB"] == 34.0
    missing = runner.invoke(main, ["fx", "load", str(tmp_path / "nope.json")])
    assert missing.exit_code != 0 and "cannot read" in missing.output


def test_show_warns_when_the_rates_are_old(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "old.json"
    path.write_text(_doc(as_of="2020-01-01"), encoding="utf-8")
    monkeypatch.setenv("MARKWATCH_FX_RATES_FILE", str(path))
    get_settings.cache_clear()
    out = CliRunner().invoke(main, ["fx", "show"])
    assert out.exit_code == 0 and "more than 45 days old" in out.output
