"""Browser tests: Debian's Chromium driven by Playwright against the real server process.

A reviewer signs in, triages the queue with the keyboard, confirms, builds a case, generates a
notice, sends it and records the marketplace's answer. Then every page that shows scraped
content is opened with XSS payloads in titles, descriptions, seller names, image URLs and the
captured HTML: no dialog may open and no marker may be set, in the page or any frame."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.factory import MARKER, PASSWORD

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.base, viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    yield pg
    context.close()


def sign_in(pg, email: str) -> None:
    pg.goto("/login")
    pg.fill("input[name=email]", email)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(re.compile(r"/alerts"))


def test_reviewer_takes_alerts_from_the_queue_to_a_recorded_answer(page, live_server):
    pg = page
    sign_in(pg, "reviewer@voltaris.example")
    assert pg.locator("#queue tr.row").count() > 0
    new_before = int(pg.locator(".tabs a[data-status=new] .count").inner_text())

    # keyboard triage: j moves, c confirms the current alert
    pg.keyboard.press("j")
    current = pg.locator("#queue tr.row.current")
    first_id = current.get_attribute("data-id")
    pg.keyboard.press("c")
    pg.wait_for_url(re.compile(r"done=1"))
    assert int(pg.locator(".tabs a[data-status=new] .count").inner_text()) == new_before - 1

    # x selects two more, then d dismisses them with a reason chosen in the bar
    pg.keyboard.press("x")
    pg.keyboard.press("j")
    pg.keyboard.press("x")
    pg.keyboard.press("d")  # no reason chosen yet: the reason list takes the focus
    assert pg.evaluate("document.activeElement.id") == "bulk-reason"
    pg.select_option("#bulk-reason", "nominative_use")
    pg.keyboard.press("d")
    pg.wait_for_url(re.compile(r"done=2"))
    assert int(pg.locator(".tabs a[data-status=dismissed] .count").inner_text()) == 2

    # three more confirmed with x x x + c
    for _ in range(3):
        pg.keyboard.press("x")
        pg.keyboard.press("j")
    pg.keyboard.press("c")
    pg.wait_for_url(re.compile(r"done=3"))

    # the alert page: o opens the current alert
    pg.goto("/alerts?status=confirmed")
    assert pg.locator("#queue tr.row").count() == 4
    assert first_id in [r.get_attribute("data-id") for r in pg.locator("#queue tr.row").all()]
    pg.keyboard.press("a")  # select all
    assert pg.locator("#selected-count").inner_text() == "4 selected"
    pg.click("#case-by-marketplace")
    pg.wait_for_url(re.compile(r"/cases"))
    pg.goto("/cases")
    pg.locator("table.cases a").first.click()
    pg.wait_for_url(re.compile(r"/cases/\d+$"))
    assert pg.locator("#case-status").inner_text() == "open"

    pg.click("#generate-notice")
    pg.wait_for_url(re.compile(r"/notices/\d+$"))
    assert pg.locator("#notice-status").inner_text() == "draft"
    assert pg.locator("iframe.notice-doc").count() == 1
    assert pg.locator("#no-documents").count() == 1  # none on file: said, and confirmed
    assert pg.input_value("#signatory") == "Jonas Weber"
    pg.check("#without-documents")
    pg.click("#send-notice")
    for _ in range(50):  # the sender runs in the server process after commit
        if pg.locator("#notice-status").get_attribute("data-status") == "sent":
            break
        pg.wait_for_timeout(200)
        pg.reload()
    # the file sender only wrote it to a folder: said so, not "sent"
    assert pg.locator("#notice-status").inner_text() == "written to outbox"
    assert pg.locator("#outbox-hint").count() == 1
    pg.select_option("#answer-outcome", "removed")
    pg.click("#record-answer")
    pg.wait_for_url(re.compile(r"/notices/\d+$"))
    assert "removed" in pg.locator("p.answer").inner_text()
    pg.locator("main a[href^='/cases/']").first.click()
    pg.wait_for_url(re.compile(r"/cases/\d+$"))
    assert pg.locator("#case-status").inner_text() in ("answered", "notice sent")
    pg.goto("/dashboard")
    assert pg.locator("#precision").inner_text() == "67%"  # 4 confirmed, 2 dismissed
    assert not pg.dialogs


def test_queue_screenshot(page, live_server):
    sign_in(page, "reviewer@kestrel-outdoor.example")
    page.goto("/alerts?status=new")
    page.keyboard.press("j")
    out = live_server.log.parent / "queue.png"
    page.screenshot(path=str(out), full_page=False)
    assert out.stat().st_size > 10_000


def test_login_is_required_and_logout_ends_the_session(page, live_server):
    page.goto("/alerts")
    assert page.url.endswith("/login")
    page.fill("input[name=email]", "reviewer@voltaris.example")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong e-mail or password" in page.content()
    sign_in(page, "viewer@voltaris.example")
    cookie = next(c for c in page.context.cookies() if c["name"] == "mw_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.locator("#bulk").count() == 0  # a viewer reads
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/login"))
    # the old cookie is dead on the server too
    page.context.add_cookies([{**cookie}])
    page.goto("/alerts")
    assert page.url.endswith("/login")


def test_xss_payloads_never_run(page, live_server):
    pg = page
    f = live_server.filled
    sign_in(pg, "reviewer@kestrel-outdoor.example")
    pg.evaluate(f"window.{MARKER} = undefined")
    seen_payload = False
    urls = ["/alerts?status=new&limit=200", "/alerts?status=all&limit=200", "/dashboard",
            "/registry", "/cases"]
    urls += [f"/alerts/{i}" for i in f.xss_alerts]
    for url in urls:
        pg.goto(url)
        pg.wait_for_load_state("load")
        # hover and focus everything a payload could hang on
        for el in pg.locator("td.title, .listing-title, .description, figure").all()[:40]:
            el.hover()
        assert pg.evaluate(f"window.{MARKER}") is None, url
        for frame in pg.frames:
            try:
                value = frame.evaluate(f"window.{MARKER}")
            except Exception:  # a sandboxed frame may refuse even the test's own script
                continue
            assert value is None, url
        if "onerror" in pg.content():
            seen_payload = True  # the payload is on the page, as text
    # a case and a notice made of hostile listings
    pg.goto("/alerts?status=new&limit=200")
    for i in f.xss_alerts:
        pg.check(f"#queue tr.row[data-id='{i}'] input[type=checkbox]")
    pg.click("#bulk-confirm")
    pg.goto("/alerts?status=confirmed&limit=200")
    for i in f.xss_alerts:
        pg.check(f"#queue tr.row[data-id='{i}'] input[type=checkbox]")
    pg.click("#case-by-marketplace")
    pg.goto("/cases")
    for link in [a.get_attribute("href") for a in pg.locator("table.cases a[href^='/cases/']").all()]:
        pg.goto(link)
        pg.click("#generate-notice")
        pg.wait_for_load_state("load")
        pg.goto(link)
        for n in [a.get_attribute("href") for a in pg.locator("a.notice-link").all()]:
            pg.goto(n)
            pg.goto(n + "/document")
            assert pg.locator("table").count() == 1  # the notice rendered, payloads as text
    seller_links = [a.get_attribute("href") for a in pg.locator("a[href^='/sellers']").all()]
    for link in seller_links[:5]:
        pg.goto(link)
        assert pg.evaluate(f"window.{MARKER}") is None
    assert seen_payload
    assert pg.dialogs == []


def test_pages_carry_a_strict_csp(live_server):
    import urllib.request

    with urllib.request.urlopen(live_server.base + "/login") as r:
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
