"""What crawls did: recent crawl runs with their figures and Scrapy stats (read into skip reasons
by ``markwatch.metrics.crawl_skips``), for ``markwatch crawls`` and the web app's crawl page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import CrawlRun, CrawlSighting, CrawlStatus, Mark, Marketplace, RightsHolder, Watch


@dataclass(frozen=True)
class CrawlRunView:
    id: int
    marketplace: str
    rights_holder: str
    mark: str
    terms: list[str]
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pages_fetched: int
    listings_seen: int
    listings_new: int
    listings_changed: int
    items_dropped: int
    stats: dict[str, Any]
    error: str | None
    worker: str | None
    finish_reason: str | None

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "stats"}
        for k in ("created_at", "started_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["seconds"] = self.seconds
        return d


def recent_runs(s: Session, *, limit: int = 50, marketplace: str | None = None,
                status: str | None = None, run_id: int | None = None,
                rights_holder_id: int | None = None) -> list[CrawlRunView]:
    """The newest crawl runs first."""
    q = (
        sa.select(CrawlRun, Marketplace.code, RightsHolder.slug, Mark.word_mark, Watch.terms)
        .join(Watch, CrawlRun.watch_id == Watch.id)
        .join(Marketplace, Watch.marketplace_id == Marketplace.id)
        .join(Mark, Watch.mark_id == Mark.id)
        .join(RightsHolder, Watch.rights_holder_id == RightsHolder.id)
    )
    if marketplace:
        q = q.where(Marketplace.code == marketplace)
    if status:
        q = q.where(CrawlRun.status == CrawlStatus(status))
    if run_id is not None:
        q = q.where(CrawlRun.id == run_id)
    if rights_holder_id is not None:
        q = q.where(Watch.rights_holder_id == rights_holder_id)
    rows = s.execute(q.order_by(CrawlRun.id.desc()).limit(limit)).all()
    so_far = _seen_so_far(s, [run.id for run, *_ in rows if run.status == CrawlStatus.RUNNING])
    out = []
    for run, code, holder, mark, terms in rows:
        stats = run.stats or {}
        out.append(CrawlRunView(
            id=run.id, marketplace=code, rights_holder=holder, mark=mark, terms=list(terms or []),
            status=run.status.value, created_at=run.created_at, started_at=run.started_at,
            finished_at=run.finished_at, pages_fetched=run.pages_fetched,
            listings_seen=so_far.get(run.id, run.listings_seen), listings_new=run.listings_new,
            listings_changed=run.listings_changed, items_dropped=run.items_dropped,
            stats=stats, error=run.error, worker=run.worker,
            finish_reason=stats.get("finish_reason"),
        ))
    return out


def _seen_so_far(s: Session, running: list[int]) -> dict[int, int]:
    """Listings a running crawl has stored so far (its figures are written when it ends; its
    sightings as it goes)."""
    if not running:
        return {}
    q = (sa.select(CrawlSighting.crawl_run_id, sa.func.count(sa.distinct(CrawlSighting.listing_id)))
         .where(CrawlSighting.crawl_run_id.in_(running))
         .group_by(CrawlSighting.crawl_run_id))
    return {rid: n for rid, n in s.execute(q)}
