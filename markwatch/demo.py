"""The main job, end to end, on whatever store and broker the settings name:

migrate -> load the registry -> start the test marketplaces and a Celery worker -> send the due
watches (as beat would) -> wait while the worker crawls and matches -> show the alert queue ->
stop everything it started.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from markwatch.processes import (
    Child,
    ProcessFailed,
    child_env,
    marketplaces_argv,
    require_free_ports,
    running,
    wait_http,
    worker_argv,
)
from markwatch.settings import Settings

DEMO_REGISTRY = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
SHOPS = ("shopa", "shopb", "shopc")
# the South-East Asian marketplace: one site on the first port + 3, a path per storefront
SEA_STOREFRONTS = {"sea_th": "th", "sea_vn": "vn", "sea_id": "id", "sea_my": "my", "sea_ph": "ph"}


@dataclass
class Progress:
    runs_total: int = 0
    runs_done: int = 0
    runs_failed: int = 0
    listings: int = 0
    pending_match: int = 0
    alerts: int = 0

    @property
    def finished(self) -> bool:
        return self.runs_total > 0 and self.runs_done == self.runs_total and not self.pending_match


@dataclass
class DemoResult:
    progress: Progress
    seconds: float
    run_ids: list[int] = field(default_factory=list)
    marketplace_urls: dict[str, str] = field(default_factory=dict)


def shop_urls(settings: Settings) -> dict[str, str]:
    host = settings.marketplaces_host
    urls = {code: f"http://{host}:{settings.marketplaces_port + i}" for i, code in enumerate(SHOPS)}
    if settings.marketplaces_sea_listings:
        sea = f"http://{host}:{settings.marketplaces_port + len(SHOPS)}"
        urls.update({code: f"{sea}/{path}" for code, path in SEA_STOREFRONTS.items()})
    return urls


def allowed_private_hosts(settings: Settings, urls: dict[str, str]) -> str:
    """``MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS`` plus the test marketplaces' host:port pairs."""
    entries = [e for e in settings.crawl_allowed_private_hosts.split(",") if e]
    for url in urls.values():
        netloc = url.split("://", 1)[1].split("/", 1)[0]
        if netloc not in entries:
            entries.append(netloc)
    return ",".join(entries)


def reset_store(settings: Settings) -> None:
    """Start from an empty store: remove the SQLite file, or drop every table elsewhere."""
    url = settings.effective_database_url
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database:
        for suffix in ("", "-wal", "-shm"):
            Path(u.database + suffix).unlink(missing_ok=True)
    else:
        from db.migrate import downgrade

        downgrade(url, "base")
    folder = settings.broker_folder
    if settings.uses_embedded_broker and folder.exists():
        for f in folder.glob("*/*"):
            f.unlink()


def read_progress(factory: Any, run_ids: list[int]) -> Progress:
    from db.models import Alert, CrawlRun, CrawlSighting, CrawlStatus, Listing

    with factory() as s:
        statuses = s.execute(
            sa.select(CrawlRun.status, sa.func.count())
            .where(CrawlRun.id.in_(run_ids))
            .group_by(CrawlRun.status)
        ).all()
        counts = {st: n for st, n in statuses}
        seen = (
            sa.select(CrawlSighting.listing_id)
            .where(CrawlSighting.crawl_run_id.in_(run_ids))
            .distinct()
            .subquery()
        )
        listings = s.scalar(sa.select(sa.func.count()).select_from(seen)) or 0
        pending = s.scalar(
            sa.select(sa.func.count())
            .select_from(Listing)
            .where(Listing.id.in_(sa.select(seen.c.listing_id)))
            .where(
                sa.or_(Listing.matched_hash.is_(None), Listing.matched_hash != Listing.content_hash)
            )
        ) or 0
        alerts = s.scalar(sa.select(sa.func.count()).select_from(Alert)) or 0
    done = counts.get(CrawlStatus.SUCCEEDED, 0) + counts.get(CrawlStatus.FAILED, 0)
    return Progress(
        runs_total=len(run_ids),
        runs_done=done,
        runs_failed=counts.get(CrawlStatus.FAILED, 0),
        listings=listings,
        pending_match=pending,
        alerts=alerts,
    )


def run_demo(
    settings: Settings,
    *,
    registry_dir: Path = DEMO_REGISTRY,
    reset: bool = True,
    timeout: float = 420.0,
    log_dir: Path | None = None,
    on_progress: Any = None,
    on_step: Any = None,
    ocr: bool = False,
) -> DemoResult:
    """Run the whole pipeline once. ``settings`` must be the process's settings (the tasks read
    them from the environment, so the caller sets ``MARKWATCH_*`` before calling)."""
    from db.migrate import upgrade
    from db.registry import load_directory
    from db.session import make_engine, session_factory, transaction
    from tasks.schedule import start_due_watches

    step = on_step or (lambda msg: None)
    started = time.monotonic()
    log_dir = log_dir or settings.data_dir / "logs"
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    if reset:
        step("resetting the demo store")
        reset_store(settings)
    step("running the migrations")
    upgrade(settings.effective_database_url)

    urls = shop_urls(settings)
    # the South-East Asian storefronts share one port: ask for the ports the shops listen on
    require_free_ports(settings.marketplaces_host, sorted({urlsplit(u).port or 80 for u in urls.values()}),
                       setting="MARKWATCH_MARKETPLACES_PORT", what="the test marketplaces")
    engine = make_engine(settings.effective_database_url)
    factory = session_factory(engine)
    step(f"loading the registry from {registry_dir}")
    with transaction(factory) as s:
        load_directory(s, registry_dir, base_urls=urls)
        # marketplaces not served this time (the South-East Asian one with
        # MARKWATCH_MARKETPLACES_SEA_LISTINGS=0) are not crawled
        from db.models import Marketplace, Watch

        s.execute(sa.update(Watch).where(Watch.marketplace_id.in_(
            sa.select(Marketplace.id).where(Marketplace.code.not_in(list(urls))))
        ).values(active=False))

    step("importing the demo products' official photos")
    with transaction(factory) as s:
        from fixtures.marketplaces import write_official_photos
        from markwatch.objectstore import evidence_store
        from markwatch.photos import import_product_photos

        photos = write_official_photos(settings.data_dir / "official-photos")
        import_product_photos(s, evidence_store(settings), photos)

    # The test marketplaces are on loopback: the crawler's SSRF guard lets exactly these through.
    # Reading text in every photo takes Tesseract about half a second each: thousands of photos
    # would keep the demo's one matching worker busy for many minutes, so it is asked for.
    env = child_env(MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS=allowed_private_hosts(settings, urls),
                    MARKWATCH_OCR_ENABLED="1" if ocr else "0")
    shops = Child(
        "marketplaces",
        marketplaces_argv(
            host=settings.marketplaces_host,
            port=settings.marketplaces_port,
            seed=settings.marketplaces_seed,
            listings=settings.marketplaces_listings,
        ),
        env=env,
        log_path=log_dir / "marketplaces.log",
    )
    # As in production: one worker for the crawls, one for matching, so alerts follow captures.
    crawler = Child(
        "crawler",
        worker_argv(concurrency=settings.worker_concurrency, name="crawler",
                    loglevel=settings.log_level, queues="crawl"),
        env=env,
        log_path=log_dir / "crawler.log",
    )
    worker = Child(
        "worker",
        worker_argv(concurrency=1, name="matcher", loglevel=settings.log_level,
                    queues="markwatch"),
        env=env,
        log_path=log_dir / "worker.log",
    )
    result = DemoResult(progress=Progress(), seconds=0.0, marketplace_urls=urls)
    try:
        with running(shops, crawler, worker):
            step("starting the test marketplaces: " + ", ".join(urls.values()))
            origins = dict.fromkeys("/".join(u.split("/", 3)[:3]) for u in urls.values())
            wait_http([o + "/healthz" for o in origins], timeout=60, child=shops)
            step("sending the due watches to the workers")
            with transaction(factory) as s:
                result.run_ids = start_due_watches(s, now=datetime.now(UTC))
            if not result.run_ids:
                raise ProcessFailed("no watch was due; nothing to crawl")
            deadline = time.monotonic() + timeout
            while True:
                for child in (worker, crawler, shops):
                    child.check_alive()
                result.progress = read_progress(factory, result.run_ids)
                if on_progress:
                    on_progress(result.progress)
                if result.progress.finished:
                    break
                if time.monotonic() > deadline:
                    raise ProcessFailed(
                        f"the pipeline did not finish within {timeout:.0f} s "
                        f"({result.progress}); worker log:\n{worker.tail()}"
                    )
                time.sleep(0.5)
            step("stopping the workers and the marketplaces")
        from markwatch.networks import recompute_networks

        with transaction(factory) as s:
            networks = recompute_networks(s, now=datetime.now(UTC))
        step(f"linked seller accounts into {networks} seller networks")
        from markwatch.checkpoints import checkpoint_log, signing_key, write_checkpoint

        with factory() as s:
            sealed = write_checkpoint(s, checkpoint_log(), signing_key())
        step(f"sealed {sealed.alerts} alert histories in evidence checkpoint {sealed.seq}")
    finally:
        with contextlib.suppress(Exception):
            engine.dispose()
    result.seconds = time.monotonic() - started
    return result


def score_against_labels(factory: Any, labels: list[Any]) -> Any:
    """The store's alerts scored against the test marketplaces' labels
    (``fixtures.marketplaces.scoring``: (listing, mark) pairs, recall over every labelled
    infringing listing with reach beside it, recall per disguise type)."""
    from fixtures.marketplaces.scoring import score

    alerts, crawled = alert_records(factory)
    return score(labels, alerts, crawled)


def alert_records(factory: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """The store's alerts as scoring records, and the (marketplace, listing id) of every stored
    listing."""
    from db.models import Alert, AlertMark, Listing, Mark, Marketplace
    from fixtures.marketplaces.scoring import AlertRecord

    with factory() as s:
        crawled = s.execute(
            sa.select(Marketplace.code, Listing.external_id)
            .join(Marketplace, Listing.marketplace_id == Marketplace.id)
        ).all()
        marks: dict[int, set[str]] = {}
        for alert_id, reg in s.execute(
            sa.select(AlertMark.alert_id, Mark.registration_number)
            .join(Mark, Mark.id == AlertMark.mark_id)
        ):
            marks.setdefault(alert_id, set()).add(reg)
        alerts = [
            AlertRecord(code, ext, frozenset(marks.get(aid) or {reg}), title)
            for aid, code, ext, title, reg in s.execute(
                sa.select(Alert.id, Marketplace.code, Listing.external_id, Listing.title,
                          Mark.registration_number)
                .join(Listing, Alert.listing_id == Listing.id)
                .join(Marketplace, Listing.marketplace_id == Marketplace.id)
                .join(Mark, Alert.mark_id == Mark.id)
            )
        ]
    return alerts, [(c, e) for c, e in crawled]
