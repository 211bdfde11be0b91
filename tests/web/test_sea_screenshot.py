"""An alert on a Thai listing, in the browser: the listing is crawled from the South-East Asian
test marketplace by the real spider, screened by the real matcher, and the alert page shows its
reasons (the counterfeit words, the price read in baht, and that the mark is not registered in
Thailand where that is so). docs/screenshots/sea_thai_alert.png is a copy of the picture it takes
(the path is printed with ``-s``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.models import Alert, Listing, Marketplace, RightsHolder
from db.session import make_engine, session_factory, transaction
from markwatch.accounts import ensure_demo_users
from markwatch.settings import get_settings
from markwatch.shop_eval import evaluate
from tests.web.conftest import serving_app
from tests.web.factory import PASSWORD, Filled

pytestmark = pytest.mark.slow
THAI = re.compile(r"[\u0e00-\u0e7f]")


def _thai_alert(url: str) -> tuple[str, int, str]:
    """(holder slug, alert id, title) of an alert on a Thai listing, preferring one found through
    a Thai spelling of the mark, then one whose mark is not registered in Thailand."""
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        ensure_demo_users(s, PASSWORD)
        rows = s.execute(
            sa.select(RightsHolder.slug, Alert.id, Listing.title, Alert.reasons, Alert.score)
            .join(Listing, Listing.id == Alert.listing_id)
            .join(Marketplace, Marketplace.id == Listing.marketplace_id)
            .join(RightsHolder, RightsHolder.id == Alert.rights_holder_id)
            .where(Marketplace.code == "sea_th")
        ).all()
    engine.dispose()
    thai = [r for r in rows if THAI.search(r.title)]
    assert thai, "no alert on a Thai listing"
    def has(r, check: str) -> bool:
        return any(x["check"] == check for x in r.reasons)

    # a Thai spelling of the Latin mark shows the most; then the other reasons; then the score
    thai.sort(key=lambda r: (not has(r, "transliteration"), not has(r, "jurisdiction"),
                             not has(r, "cue_phrase"), -r.score, r.id))
    best = thai[0]
    return best.slug, best.id, best.title


def test_thai_alert_with_its_reasons(browser, tmp_path: Path) -> None:
    if subprocess.run(["fc-list", ":lang=th"], capture_output=True, text=True).stdout == "":
        pytest.fail("no Thai font (make install-test installs Debian's fonts-thai-tlwg)",
                    pytrace=False)
    s = get_settings()
    url = s.effective_database_url
    out = tmp_path / "sea_thai_alert.png"
    seen: dict[str, object] = {}

    def look(mp) -> None:  # the shops still serve the listing's images
        slug, alert_id, title = _thai_alert(url)
        with serving_app(url, tmp_path, Filled(url)) as server:
            context = browser.new_context(base_url=server.base,
                                          viewport={"width": 1280, "height": 900})
            pg = context.new_page()
            pg.goto("/login")
            pg.fill("input[name=email]", f"reviewer@{slug}.example")
            pg.fill("input[name=password]", PASSWORD)
            pg.click("button[type=submit]")
            pg.wait_for_url(re.compile(r"/alerts"))
            pg.goto(f"/alerts/{alert_id}")
            pg.wait_for_load_state("networkidle")
            seen["title"] = title
            seen["page"] = pg.content()
            seen["reasons"] = pg.locator("ul.reasons li").all_inner_texts()
            pg.screenshot(path=str(out), full_page=False)
            context.close()

    result = evaluate(s, ["sea_th"], seed=20261124, listings=300, sea_listings=800,
                      while_serving=look)
    assert result.runs == 4 and not result.failed_runs
    assert str(seen["title"]) in str(seen["page"])
    reasons = seen["reasons"]
    assert isinstance(reasons, list) and any("price" in r and "THB" in r for r in reasons)
    assert out.stat().st_size > 10_000
    print(f"screenshot: {out}")
