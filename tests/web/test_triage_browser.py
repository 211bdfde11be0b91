"""A morning's triage in the browser: 200 keyboard actions in a row on a queue of its own.

Before, every action appended ``&done=N&refused=M`` to the URL the next action posted back, and
the 118th was refused ("next: String should have at most 2000 characters")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.web.conftest import LiveServer, serving_app
from tests.web.factory import PASSWORD, fill

pytestmark = pytest.mark.slow
ACTIONS = 200


@pytest.fixture(scope="module")
def triage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from db.migrate import upgrade

    root = tmp_path_factory.mktemp("triage")
    url = f"sqlite:///{root / 'store.db'}"
    upgrade(url)
    with serving_app(url, root, fill(url, per_holder=ACTIONS + 20, xss=False)) as server:
        yield server


def _count(pg, status: str) -> int:
    return int(pg.locator(f".tabs a[data-status={status}] .count").inner_text())


def test_two_hundred_keyboard_actions_in_a_row(browser, triage_server):
    context = browser.new_context(base_url=triage_server.base,
                                  viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto("/login")
    pg.fill("input[name=email]", "reviewer@kestrel-outdoor.example")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(re.compile(r"/alerts"))
    pg.goto("/alerts?status=new&tier=&limit=50")
    new_before = _count(pg, "new")
    assert new_before >= ACTIONS

    done: Counter[str] = Counter()
    for i in range(ACTIONS):
        current = pg.locator("#queue tr.row.current").get_attribute("data-id")
        if i % 10 == 9:  # a dismissal: the reason list takes the focus, then d again
            pg.keyboard.press("d")
            assert pg.evaluate("document.activeElement.id") == "bulk-reason"
            pg.select_option("#bulk-reason", "duplicate")
            with pg.expect_navigation():
                pg.keyboard.press("d")
            done["dismissed"] += 1
        elif i % 5 == 4:
            with pg.expect_navigation():
                pg.keyboard.press("r")
            done["in_review"] += 1
        else:
            with pg.expect_navigation():
                pg.keyboard.press("c")
            done["confirmed"] += 1
        assert pg.locator("p.notice[role=status]").inner_text() == "1 alert(s) updated.", i
        assert len(pg.url) < 200, (i, pg.url)
        assert current not in [r.get_attribute("data-id")
                               for r in pg.locator("#queue tr.row").all()], i

    assert _count(pg, "new") == new_before - ACTIONS
    assert {s: _count(pg, s) for s in done} == dict(done)
    assert "tier=" not in pg.url and "limit=50" not in pg.url  # defaults left out, filters kept
    assert not errors
    context.close()
