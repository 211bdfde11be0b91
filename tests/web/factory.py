"""A filled store for the web tests, written with the pipeline's own store operations: the demo
registry, one user per role per rights holder, listings with evidence snapshots and alerts,
some of them carrying XSS payloads in every scraped field."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from db.alerts import Finding, record_findings
from db.captures import WarcArchive
from db.listings import ListingFields, add_snapshot, record_sighting, upsert_listing
from db.models import CrawlRun, CrawlStatus, Mark, Marketplace, RightsHolder, Watch
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from markwatch.accounts import DEMO_PASSWORD, ensure_demo_users
from tests.conftest import DEMO_REGISTRY

PASSWORD = DEMO_PASSWORD
MARKER = "__xss_fired"

#: Each payload, if it ever ran, would open a dialog or set window.__xss_fired.
XSS = [
    '<script>window.__xss_fired=1;alert("t")</script>',
    '<img src=x onerror="window.__xss_fired=1;alert(1)">',
    '"><svg onload=alert(2)>',
    "'><iframe src=javascript:alert(3)></iframe>",
    "{{7*7}}<b onmouseover=alert(4)>hover</b>",
    '</textarea></pre><script>alert(5)</script>',
    "<a href=\"javascript:alert(6)\">click</a>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(7)>',
    "=HYPERLINK(\"http://evil.example\",\"x\")",
]
XSS_URLS = [
    "javascript:alert(8)",
    '" onerror="alert(9)',
    "data:text/html,<script>alert(10)</script>",
    "http://127.0.0.1:1/x.png\" onerror=\"alert(11)",
]
XSS_PAGE = (
    "<html><head><script>window.parent.__xss_fired=1;alert('captured')</script></head><body>"
    "<img src=x onerror=\"top.__xss_fired=1;alert('img')\"><form action='javascript:alert(1)'>"
    "<input autofocus onfocus=\"alert('focus')\"></form>"
    "<meta http-equiv=refresh content=\"0;url=javascript:alert('meta')\">"
    "<h1>Replica KESTREL</h1></body></html>"
)


@dataclass
class Filled:
    url: str
    holders: dict[str, int] = field(default_factory=dict)  # slug -> id
    alerts: dict[str, list[int]] = field(default_factory=dict)  # slug -> alert ids
    xss_alerts: list[int] = field(default_factory=list)


def fill(url: str, *, per_holder: int = 24, xss: bool = True, store: Any = None) -> Filled:
    """``store``: keep each captured page as a WARC record in that evidence store, as the
    crawler does, instead of in the row."""
    engine = make_engine(url)
    factory = session_factory(engine)
    out = Filled(url)
    now = datetime.now(UTC)
    with transaction(factory) as s:
        load_directory(s, DEMO_REGISTRY)
        ensure_demo_users(s)
        holders = s.scalars(sa.select(RightsHolder).order_by(RightsHolder.id)).all()
        markets = s.scalars(sa.select(Marketplace).order_by(Marketplace.id)).all()
        for rh in holders:
            out.holders[rh.slug] = rh.id
            marks = s.scalars(sa.select(Mark).where(Mark.rights_holder_id == rh.id).order_by(Mark.id)).all()
            mark = marks[0]
            watch = s.scalar(sa.select(Watch).where(Watch.mark_id == mark.id).order_by(Watch.id))
            run = CrawlRun(watch_id=watch.id, status=CrawlStatus.SUCCEEDED, started_at=now,
                           finished_at=now)
            s.add(run)
            s.flush()
            ids = []
            for i in range(per_holder):
                market = markets[i % len(markets)]
                hostile = xss and rh.slug == "kestrel-outdoor" and i < len(XSS)
                title = f"{mark.word_mark} replica item {i}"
                desc = f"1:1 mirror quality {mark.word_mark} #{i}"
                seller = f"seller-{rh.slug[:4]}-{i % 5}"
                images = [f"http://127.0.0.1:9/img/{rh.slug}/{i}.png"]
                body = f"<html><body><h1>{title}</h1><p>{desc}</p></body></html>".encode()
                if hostile:
                    p = XSS[i]
                    title, desc, seller = f"{mark.word_mark} {p}", p, f"{p[:200]}"
                    images = [XSS_URLS[i % len(XSS_URLS)], p]
                    body = XSS_PAGE.encode()
                fields = ListingFields(
                    external_id=f"{rh.slug}-{i}", url=f"{market.base_url}/item/{rh.slug}-{i}",
                    title=title, description=desc, price=Decimal("19.99"), currency="EUR",
                    seller=seller, images=tuple(images), category="Shoes", brand=mark.word_mark,
                    condition="new",
                )
                up = upsert_listing(s, market.id, fields, seen_at=now, crawl_run_id=run.id)
                record_sighting(s, run.id, up.listing_id, mark.word_mark.lower(), i + 1)
                fetched = now - timedelta(minutes=i)
                archive = None if store is None else functools.partial(
                    WarcArchive(store).write, url=fields.url, status=200, body=body,
                    headers={"Content-Type": "text/html"}, fetched_at=fetched, ip_address=None)
                snap = add_snapshot(s, listing_id=up.listing_id, crawl_run_id=run.id,
                                    url=fields.url, http_status=200, body=body,
                                    fetched_at=fetched, archive=archive)
                score = 95 - (i * 3) % 50
                tier = "high" if score >= 80 else "medium" if score >= 60 else "low"
                res = record_findings(s, up.listing_id, [Finding(
                    rights_holder_id=rh.id, mark_id=mark.id, kind="counterfeit", score=score,
                    tier=tier, reasons=[{"check": "exact", "detail": f"{mark.word_mark} in the title"},
                                        {"check": "cue", "detail": desc[:80]}],
                )], snapshot_id=snap.id)
                ids.extend(res.created)
                if hostile:
                    out.xss_alerts.extend(res.created)
            out.alerts[rh.slug] = ids
    engine.dispose()
    return out
