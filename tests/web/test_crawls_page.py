"""The crawl page: an admin sees what their holder's crawls fetched and skipped, and why, with
the end of a run's log; other holders' runs stay out of sight; reviewers do not get the page."""

from __future__ import annotations

import sqlalchemy as sa

from db.models import CrawlRun, CrawlStatus, RightsHolder, Watch
from db.session import make_engine, session_factory, transaction
from markwatch.settings import get_settings
from tests.web.conftest import login, make_client

A, B = "kestrel-outdoor", "aurelia-atelier"


def test_admin_sees_own_crawls_with_skip_reasons_and_log(filled_sqlite, sqlite_url,
                                                         monkeypatch) -> None:
    factory = session_factory(make_engine(sqlite_url))
    with transaction(factory) as s:
        ids = {}
        for slug, error in ((A, None), (B, "crawler exited 1: B-SECRET-ERROR")):
            holder = s.scalar(sa.select(RightsHolder).filter_by(slug=slug))
            watch = s.scalars(sa.select(Watch).filter_by(rights_holder_id=holder.id)).first()
            run = CrawlRun(watch_id=watch.id, status=CrawlStatus.FAILED if error else
                           CrawlStatus.SUCCEEDED, error=error, pages_fetched=42,
                           listings_seen=30, listings_new=7, listings_changed=2,
                           stats={"finish_reason": "finished", "markwatch/parse_errors": 3,
                                  "markwatch/skipped/no_price": 2,
                                  "markwatch/skipped/invalid_json_ld": 1,
                                  "robotstxt/forbidden": 4})
            s.add(run)
            s.flush()
            ids[slug] = run.id
    client = make_client(sqlite_url, monkeypatch)
    log = get_settings().crawl_log_path(ids[A])
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("INFO: Spider opened\nWARNING: skipped malformed listing page <x>\n",
                   encoding="utf-8")
    login(client, f"admin@{A}.example")
    page = client.get("/crawls")
    assert page.status_code == 200
    assert "robots_txt 4" in page.text and "parse_no_price 2" in page.text
    assert "parse_invalid_json_ld 1" in page.text and "parse_error" not in page.text
    assert f'/crawls?run={ids[A]}"' in page.text and "B-SECRET-ERROR" not in page.text
    assert "<h2>Marketplaces</h2>" in page.text and "Tradewind" in page.text
    one = client.get(f"/crawls?run={ids[A]}")
    assert one.status_code == 200 and "Spider opened" in one.text
    assert "&lt;x&gt;" in one.text  # log text is escaped
    assert client.get(f"/crawls?run={ids[B]}").status_code == 404

    reviewer = make_client(sqlite_url, monkeypatch)
    login(reviewer, f"reviewer@{A}.example")
    assert reviewer.get("/crawls").status_code == 403
