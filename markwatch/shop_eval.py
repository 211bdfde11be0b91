"""Score the pipeline on some of the bundled test marketplaces, end to end but without the
queue: serve the shops, load the demo registry into a fresh store, crawl each watched
(mark, marketplace) with the real spiders in their own processes (``python -m crawler.run``,
through the item pipelines into the store), screen the stored listings as the matching task
does, and score the alerts against the labels, overall, per marketplace and per disguise.

    markwatch marketplaces score --only sea_th,sea_vn,sea_id,sea_my,sea_ph

The listings are data we wrote (``fixtures/marketplaces``): the figures say how the pipeline
does on our own generated shops, not on real marketplaces.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from markwatch.demo import DEMO_REGISTRY, alert_records
from markwatch.processes import ProcessFailed, child_env
from markwatch.settings import Settings


@dataclass
class ShopEval:
    overall: Any  # fixtures.marketplaces.scoring.GroundTruthScore
    per_marketplace: dict[str, Any] = field(default_factory=dict)
    runs: int = 0
    failed_runs: list[int] = field(default_factory=list)
    listings: int = 0


def evaluate(settings: Settings, codes: list[str], *, seed: int, listings: int,
             sea_listings: int, parallel: int = 2,
             on_step: Callable[[str], None] | None = None,
             while_serving: Callable[[Any], None] | None = None, ocr: bool = False) -> ShopEval:
    """Serve, crawl ``codes``, screen and score. ``settings`` names the (empty) store to use;
    the crawler processes get the same store through the environment. ``while_serving(mp)``
    runs after screening, while the shops still answer (a browser can load their images).
    Text in photos is read only with ``ocr`` (about a second a photo), as in the demo."""
    from db.migrate import upgrade
    from db.models import CrawlRun, Listing, Marketplace, Watch
    from db.registry import load_directory
    from db.session import make_engine, session_factory, transaction
    from fixtures.marketplaces import running_marketplaces
    from fixtures.marketplaces.scoring import score, score_per_marketplace
    from markwatch.screening import screen_listings

    step = on_step or (lambda msg: None)
    url = settings.effective_database_url
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    try:
        with running_marketplaces(settings.marketplaces_host, 0, seed, listings,
                                  sea_listings=sea_listings) as mp:
            unknown = sorted(set(codes) - set(mp.urls))
            if unknown:
                raise ValueError(f"no such test marketplace: {', '.join(unknown)}")
            with transaction(factory) as s:
                load_directory(s, DEMO_REGISTRY, base_urls=mp.urls)
                watch_ids = s.scalars(
                    sa.select(Watch.id).join(Marketplace, Watch.marketplace_id == Marketplace.id)
                    .where(Marketplace.code.in_(codes)).order_by(Watch.id)).all()
                runs = [CrawlRun(watch_id=w) for w in watch_ids]
                s.add_all(runs)
                s.flush()
                run_ids = [r.id for r in runs]
            netlocs = sorted({mp.urls[c].split("://", 1)[1].split("/", 1)[0] for c in codes})
            env = child_env(
                MARKWATCH_DATABASE_URL=url,
                MARKWATCH_DATA_DIR=str(settings.data_dir),
                MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS=",".join(netlocs),
                MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED="1",
            )
            step(f"crawling {len(run_ids)} watches on {', '.join(codes)}")
            out = ShopEval(overall=None, runs=len(run_ids))
            out.failed_runs = _crawl(run_ids, env, parallel, settings.data_dir / "logs")
            with transaction(factory) as s:
                ids = s.scalars(
                    sa.select(Listing.id).join(Marketplace, Listing.marketplace_id == Marketplace.id)
                    .where(Marketplace.code.in_(codes))).all()
                out.listings = len(ids)
                step(f"screening {len(ids)} stored listings")
                screen_listings(s, ids, settings.model_copy(update={"ocr_enabled": ocr}))
            if while_serving is not None:
                while_serving(mp)
            assert mp.catalogue is not None
            labels = [lab for lab in mp.catalogue.labels if lab.marketplace in codes]
        alerts, crawled = alert_records(factory)
        alerts = [a for a in alerts if a.marketplace in codes]
        out.overall = score(labels, alerts, crawled)
        out.per_marketplace = score_per_marketplace(labels, alerts, crawled)
        return out
    finally:
        engine.dispose()


def _crawl(run_ids: list[int], env: dict[str, str], parallel: int, log_dir: Path) -> list[int]:
    """Run the crawls, ``parallel`` at a time; return the ids of those that failed."""
    log_dir.mkdir(parents=True, exist_ok=True)
    pending = list(run_ids)
    active: list[tuple[int, subprocess.Popen[bytes], Any]] = []
    failed: list[int] = []
    while pending or active:
        while pending and len(active) < max(1, parallel):
            rid = pending.pop(0)
            log = open(log_dir / f"crawl-{rid}.log", "wb")  # noqa: SIM115 - closed below
            proc = subprocess.Popen([sys.executable, "-m", "crawler.run", str(rid)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            active.append((rid, proc, log))
        rid, proc, log = active.pop(0)
        try:
            code = proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log.close()
            raise ProcessFailed(f"crawl run {rid} did not finish in 600 s") from None
        log.close()
        if code != 0:
            failed.append(rid)
    return failed
