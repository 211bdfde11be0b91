"""The crawls page: what this holder's recent crawls fetched, stored and skipped, and why."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from db.models import Marketplace
from web.core import MAX_ID, Admin
from web.pages.common import page

router = APIRouter()

LOG_TAIL = 64 * 1024  # bytes of a crawl's log shown on its page


@router.get("/crawls")
def crawls_page(request: Request, ctx: Admin,
                run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    """What this holder's recent crawls fetched, stored and skipped, and why; with ``run``, one
    run and the end of its Scrapy log."""
    from db.crawl_runs import recent_runs
    from markwatch.metrics import crawl_skips
    from markwatch.settings import get_settings

    runs = recent_runs(ctx.session, limit=1 if run else 100, run_id=run,
                       rights_holder_id=ctx.scope.rights_holder_id)
    if run and not runs:
        raise HTTPException(404, "no such crawl run")
    log_tail = None
    if run:
        path = get_settings().crawl_log_path(run)
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(max(0, path.stat().st_size - LOG_TAIL))
                log_tail = fh.read().decode("utf-8", "replace")
    from crawler.profile import why_not_crawlable

    markets = [] if run else [
        (m, why_not_crawlable(m.spider, m.profile))
        for m in ctx.session.scalars(sa.select(Marketplace).order_by(Marketplace.code))]
    return page(request, "crawls.html", ctx, runs=runs, one=bool(run), log_tail=log_tail,
                skips={r.id: crawl_skips(r.stats) for r in runs}, markets=markets)
