"""The reviewer's path through the queue: bulk results that do not pile up in the URL, an alert
page that keeps the queue's filters and page and moves on to the next alert after a verdict,
reasons in plain words with the listing's words translated, and a dashboard that adds up."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from db.alerts import Finding, record_findings
from db.listings import ListingFields, upsert_listing
from db.models import Mark, Marketplace
from db.session import make_engine, session_factory, transaction
from db.types import utcnow
from tests.web.conftest import login, make_client

REVIEWER = "reviewer@kestrel-outdoor.example"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_bulk_results_do_not_pile_up_in_the_url(filled, store_url, monkeypatch):
    """Before: every action appended ``&done=N&refused=M`` to the URL posted back as ``next``,
    and the 118th action was refused (``next`` over 2000 characters)."""
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, REVIEWER)
    alert_id = filled.alerts["kestrel-outdoor"][0]
    here = "/alerts?status=new&marketplace=shopa"
    for i in range(150):
        r = ui.post("/alerts/bulk", data={"csrf_token": csrf, "alert_ids": [alert_id],
                                          "action": "review", "next": here})
        assert r.status_code == 303, (i, r.text[:300])
        here = r.headers["location"]
        assert len(here) < 120, here
    q = parse_qs(urlsplit(here).query)
    assert q == {"status": ["new"], "marketplace": ["shopa"], "done": ["0"], "refused": ["1"]}
    # the queue page posts back its own place in the queue, never an earlier action's result
    page = ui.get(here).text
    posted = re.search(r'name="next" value="([^"]+)"', page).group(1)
    assert "done=" not in unescape(posted) and "marketplace=shopa" in unescape(posted)


def _queue_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<td class="title"><a href="([^"]+)"', html)]


def test_alert_page_keeps_the_queue_and_moves_on_after_a_verdict(filled, store_url, monkeypatch):
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    queue = ui.get("/alerts", params={"status": "new", "marketplace": "shopa", "limit": 10}).text
    links = _queue_links(queue)
    assert len(links) >= 3
    first, second, third = links[:3]
    assert "marketplace=shopa" in first and "status=new" in first
    page = ui.get(first).text
    back = unescape(re.search(r'<a href="([^"]+)" id="back-to-queue"', page).group(1))
    assert parse_qs(urlsplit(back).query) == {"status": ["new"], "marketplace": ["shopa"],
                                              "limit": ["10"]}

    # confirm on the alert page: on to the next alert of the same filtered queue
    nxt = unescape(re.search(r'id="confirm-form">\s*<input type="hidden" name="csrf_token" '
                             r'value="[^"]+">\s*<input type="hidden" name="next" value="([^"]+)"',
                             page).group(1))
    first_id = urlsplit(first).path.rsplit("/", 1)[1]
    r = ui.post(f"/alerts/{first_id}/confirm", data={"csrf_token": _csrf(page), "next": nxt})
    assert r.status_code == 303
    r = ui.get(r.headers["location"])
    assert r.status_code == 303
    assert r.headers["location"] == second

    # dismiss the second with a reason: on to the third
    page = ui.get(second).text
    second_id = urlsplit(second).path.rsplit("/", 1)[1]
    r = ui.post(f"/alerts/{second_id}/dismiss", data={
        "csrf_token": _csrf(page), "reason": "duplicate",
        "next": f"/alerts/{second_id}/next?{urlsplit(second).query}"})
    assert ui.get(r.headers["location"]).headers["location"] == third

    # after the last alert of the filtered queue, back to the queue with its filters
    last = links[-1] if len(links) < 10 else None
    if last is not None:
        last_id = urlsplit(last).path.rsplit("/", 1)[1]
        r = ui.get(f"/alerts/{last_id}/next?{urlsplit(last).query}")
        assert r.headers["location"].startswith("/alerts?") and "marketplace=shopa" in \
            r.headers["location"]


def _explained_alert(url: str) -> int:
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        k = s.scalar(sa.select(Mark).filter_by(word_mark="KESTREL"))
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        lid = upsert_listing(s, shop, ListingFields(
            external_id="explained", url="https://shop.example/item/explained?a=1&b=2",
            title="KESTREL 高仿 顶级复刻 hiking boots 包邮", description="同款 风格",
            price=Decimal("12.00"), currency="CNY", seller="copies"),
            seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        out = record_findings(s, lid, [Finding(k.rights_holder_id, k.id, "counterfeit", 93, "high", [
            {"check": "exact", "detail": "KESTREL: 'KESTREL'", "span": "KESTREL", "points": 60},
            {"check": "nominative_forbidden", "detail": '"for KESTREL" (for)', "span": "for KESTREL",
             "points": 0},
            {"check": "nice_class", "detail": "category 'Shoes' is in class 25", "span": "Shoes"},
            {"check": "cue_phrase", "detail": "counterfeit cue: 顶级复刻, 高仿", "span": "高仿"},
            {"check": "a_check_from_a_newer_matcher", "detail": "something new"},
        ])], snapshot_id=None)
        alert_id = out.created[0]
    engine.dispose()
    return alert_id


def test_reasons_read_in_plain_words_and_listing_words_are_translated(filled, store_url,
                                                                       monkeypatch):
    alert_id = _explained_alert(store_url)
    ui = make_client(store_url, monkeypatch)
    login(ui, REVIEWER)
    page = ui.get(f"/alerts/{alert_id}").text
    reasons = re.search(r'<ul class="reasons">(.*?)</ul>', page, re.S).group(1)
    text = unescape(re.sub(r"<[^>]+>", "", reasons))
    assert "<strong>nominative_forbidden</strong>" not in reasons
    assert "<strong>nice_class</strong>" not in reasons
    assert "\u201cfor KESTREL\u201d" in text and "marketplaces do not allow" in text
    assert "The category \u201cShoes\u201d is in a class the mark is registered for." in text
    assert "Counterfeit wording" in text and "(+60)" in text
    assert "A check from a newer matcher. something new" in text  # unknown checks still read
    glossary = re.search(r'<dl class="glossary" id="glossary">(.*?)</dl>', page, re.S).group(1)
    for phrase, meaning in [("高仿", "high-grade imitation"), ("顶级复刻", "top-grade replica"),
                            ("同款", "same style as"), ("包邮", "free shipping")]:
        assert f">{phrase}</dt><dd>{meaning}" in glossary
    assert ">复刻</dt>" not in glossary  # inside 顶级复刻: said once
    # the listing's URL is a link that leaves without a referrer; the queue says why in words
    assert ('<a href="https://shop.example/item/explained?a=1&amp;b=2" id="listing-link" '
            'rel="noopener noreferrer nofollow"') in page
    queue = ui.get("/alerts", params={"status": "new", "seller": "copies"}).text
    why = re.search(r'<td class="why">(.*?)</td>', queue, re.S).group(1)
    assert unescape(why) == "The mark, as registered: KESTREL; \"Fits\" is no defence here: for KESTREL"


def test_a_hostile_listing_url_is_not_a_link(filled_sqlite, sqlite_url, monkeypatch):
    ui = make_client(sqlite_url, monkeypatch)
    login(ui, REVIEWER)
    for alert_id in filled_sqlite.xss_alerts:
        page = ui.get(f"/alerts/{alert_id}").text
        m = re.search(r'<a href="([^"]*)" id="listing-link"', page)
        assert m is None or unescape(m.group(1)).startswith(("http://", "https://"))


def test_dashboard_bars_are_not_stacked_and_name_watches_and_reasons(filled, store_url,
                                                                     monkeypatch):
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, REVIEWER)
    ids = filled.alerts["kestrel-outdoor"]
    ui.post("/alerts/bulk", data={"csrf_token": csrf, "alert_ids": ids[:3], "action": "confirm"})
    ui.post("/alerts/bulk", data={"csrf_token": csrf, "alert_ids": ids[3:5], "action": "dismiss",
                                  "reason": "nominative_use"})
    page = ui.get("/dashboard").text
    chart = re.search(r'<svg class="chart" role="img" aria-label="alerts detected, confirmed and '
                      r'dismissed per day"(.*?)</svg>', page, re.S).group(1)
    # the axis is the largest single count of a day, not a sum of series that overlap
    top = int(re.findall(r'text-anchor="end" font-size="11" fill="#333">(\d+)</text>', chart)[0])
    assert top == len(ids)
    assert f"{len(ids)} detected, 3 confirmed, 2 dismissed" in page
    # day labels stand at least a label's width apart
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="188.0" text-anchor="start"', chart)]
    assert xs and all(b - a >= 40 for a, b in itertools.pairwise(xs))
    today = re.findall(r'<text x="([\d.]+)" y="188.0" text-anchor="end" font-size="11" '
                       r'fill="#333">(\d\d \w{3})</text>', chart)
    assert len(xs) >= 3 and len(today) == 1  # the weeks, and today ending at the right edge
    assert today[0][1] == utcnow().strftime("%d %b") and float(today[0][0]) <= 720
    assert float(today[0][0]) - xs[-1] >= 40 + 6.5 * 6
    assert "Nominative use (compatible with, for)" in page and ">nominative_use<" not in page
    # the dismiss reasons' labels fit their column: none is cut at the chart's left edge
    reasons = re.search(r'aria-label="dismissals per reason"(.*?)</svg>', page, re.S).group(1)
    for x, label in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end" '
                               r'font-size="11" fill="#333">([^<]+)</text>', reasons):
        assert float(x) >= 6.5 * len(unescape(label)), label
    watch_cells = re.findall(r"<tr><td>([^<]*)</td><td>KESTREL</td>", page)
    assert watch_cells and not any(c.strip().isdigit() for c in watch_cells)
