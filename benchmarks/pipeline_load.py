"""Load: N listings through crawl ingest, matching and alert creation, on PostgreSQL and Redis
with two workers, all as real processes on this machine. Reports throughput and the time from
each capture's fetch to its alert (p50, p95), and checks that nothing was lost or duplicated.

    python benchmarks/pipeline_load.py --listings 100000 --out benchmarks/results/pipeline_load.txt

It creates (and drops) its own PostgreSQL database and uses Redis database 14.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    Alert,
    CrawlRun,
    CrawlStatus,
    EvidenceSnapshot,
    Listing,
    Marketplace,
    Watch,
)
from db.registry import load_directory  # noqa: E402
from db.session import make_engine, session_factory, transaction  # noqa: E402
from markwatch.demo import DEMO_REGISTRY, read_progress, score_against_labels  # noqa: E402
from markwatch.processes import (  # noqa: E402
    Child,
    child_env,
    marketplaces_argv,
    wait_http,
    worker_argv,
)
from markwatch.settings import get_settings  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def reached_by_searches(seed: int, listings: int, terms: dict[str, set[str]]
                        ) -> dict[tuple[str, str], str | None]:
    """(marketplace, listing id) of every generated listing that one of the watches' search
    terms finds on its marketplace, as the test marketplaces answer a search, with the way the
    page is served broken on purpose (None: served whole)."""
    from fixtures.marketplaces import generate
    from fixtures.marketplaces.generator import shops
    from fixtures.marketplaces.shops import make_shop

    catalogue = generate(seed, listings)
    info = shops()
    out: dict[tuple[str, str], str | None] = {}
    for code, words in terms.items():
        shop = make_shop(info[code], [li for li in catalogue.listings if li.marketplace == code])
        for term in words:
            out.update(((code, li.listing_id), li.broken) for li in shop.search(term))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listings", type=int, default=100_000)
    ap.add_argument("--crawl-concurrency", type=int, default=2,
                    help="processes of the crawler worker (queue crawl)")
    ap.add_argument("--match-concurrency", type=int, default=2,
                    help="processes of the matching worker (queue markwatch)")
    ap.add_argument("--pg", default=os.environ.get(
        "MARKWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--port", type=int, default=18301)
    ap.add_argument("--timeout", type=float, default=3000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/pipeline_load.txt")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    import redis as redis_lib

    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    dbname = f"mw_load_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    url = sa.engine.make_url(args.pg).set(database=dbname).render_as_string(hide_password=False)
    r = redis_lib.Redis.from_url(args.redis)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / dbname
    work.mkdir(parents=True)
    urls = {c: f"http://127.0.0.1:{args.port + i}" for i, c in enumerate(("shopa", "shopb",
                                                                          "shopc"))}
    env = {
        "MARKWATCH_DATABASE_URL": url,
        "MARKWATCH_BROKER_URL": args.redis,
        "MARKWATCH_DATA_DIR": str(work),
        "MARKWATCH_ENV": "test",
        "MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED": "1",
        "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": ",".join(u.split("//")[1] for u in urls.values()),
        "MARKWATCH_CRAWL_MAX_PAGES": "1000",
        "MARKWATCH_CRAWL_TIMEOUT": "3000",
        "MARKWATCH_TASK_TIME_LIMIT": "3200",
        "MARKWATCH_BROKER_VISIBILITY_TIMEOUT": "7200",
        "MARKWATCH_LOG_LEVEL": "WARNING",
        "MARKWATCH_BROKER_KEY_PREFIX": f"{dbname}:",
        # the load is measured on the three shops, as before the South-East Asian one came
        "MARKWATCH_MARKETPLACES_SEA_LISTINGS": "0",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    children: list[Child] = []
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = session_factory(engine)
        with transaction(factory) as s:
            load_directory(s, DEMO_REGISTRY, base_urls=urls)
            s.execute(sa.update(Watch).where(Watch.marketplace_id.in_(
                sa.select(Marketplace.id).where(Marketplace.code.not_in(list(urls))))
            ).values(active=False))
        shops = Child("marketplaces", marketplaces_argv(host="127.0.0.1", port=args.port,
                                                        seed=20261124, listings=args.listings),
                      env=child_env(**env), log_path=work / "marketplaces.log").start()
        children.append(shops)
        wait_http([u + "/healthz" for u in urls.values()], timeout=300, child=shops)
        # two workers, as docker-compose runs them: one for crawls, one for matching
        for name, queue, conc in (("crawler", "crawl", args.crawl_concurrency),
                                  ("worker", "markwatch", args.match_concurrency)):
            children.append(Child(name, worker_argv(concurrency=conc, name=name, queues=queue,
                                                    loglevel="WARNING"),
                                  env=child_env(**env), log_path=work / f"{name}.log").start())
        from tasks.schedule import start_due_watches

        started = time.monotonic()
        with transaction(factory) as s:
            run_ids = start_due_watches(s, now=datetime.now(UTC))
        last = ""
        while True:
            for c in children:
                c.check_alive()
            p = read_progress(factory, run_ids)
            line = (f"{time.monotonic() - started:6.0f} s  crawls {p.runs_done}/{p.runs_total}  "
                    f"listings {p.listings}  to match {p.pending_match}  alerts {p.alerts}")
            if line != last:
                print(line, file=sys.stderr, flush=True)
                last = line
            if p.finished:
                break
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"not finished within {args.timeout} s: {p}")
            time.sleep(5)
        elapsed = time.monotonic() - started

        with factory() as s:
            statuses = set(s.scalars(sa.select(CrawlRun.status)))
            listings = s.scalar(sa.select(sa.func.count()).select_from(Listing))
            snapshots = s.scalar(sa.select(sa.func.count()).select_from(EvidenceSnapshot))
            rows = s.execute(
                sa.select(Alert.created_at, sa.func.min(EvidenceSnapshot.fetched_at))
                .join(EvidenceSnapshot, EvidenceSnapshot.listing_id == Alert.listing_id)
                .group_by(Alert.id, Alert.created_at)
            ).all()
            alerts = s.scalar(sa.select(sa.func.count()).select_from(Alert))
            # Duplicates as a reviewer would see them: one listing page (marketplace and URL)
            # alerted twice for one rights holder, whatever listing rows it was stored as; and alerts
            # whose "created" event was written more than once (a task that ran twice).
            same_page = alerts - s.scalar(sa.text(
                "select count(*) from (select distinct l.marketplace_id, l.url, a.rights_holder_id "
                "from alert a join listing l on l.id = a.listing_id) d"))
            created_twice = s.scalar(sa.text(
                "select count(*) - count(distinct alert_id) from alert_event "
                "where action = 'created'"))
            dup = same_page + created_twice
            stored_rows = s.execute(
                sa.select(Marketplace.code, Listing.external_id, Listing.matched_hash,
                          Listing.content_hash).join(Marketplace)).all()
            stored_keys = {(code, ext) for code, ext, _m, _c in stored_rows}
            unmatched = {(code, ext) for code, ext, m, c in stored_rows if m != c}
            terms = {}
            for code, watch_terms in s.execute(sa.select(Marketplace.code, Watch.terms)
                                               .join(Watch, Watch.marketplace_id == Marketplace.id)):
                terms.setdefault(code, set()).update(watch_terms)
        latencies = [(a - f).total_seconds() for a, f in rows]
        from fixtures.marketplaces import load_labels

        labels = load_labels(work / "marketplaces" / "labels.jsonl")
        score = score_against_labels(factory, labels)
        # Loss, from the labels: every labelled listing the watches' searches reach must be
        # stored, matched, and (when labelled infringing) alerted for its mark's owner.
        reached_all = reached_by_searches(20261124, args.listings, terms)
        # pages served broken on purpose are a counted skip, not a loss: reported on their own
        reached = {k for k, broken in reached_all.items() if broken is None}
        broken = set(reached_all) - reached
        infringing = {(lab.marketplace, lab.listing_id) for lab in labels if lab.infringing}
        labelled = {(lab.marketplace, lab.listing_id) for lab in labels}
        missed = {(code, ext) for code, ext, *_ in score.missed}
        figures = {
            "listings_generated": args.listings,
            "listings_stored": listings,
            "snapshots": snapshots,
            "alerts": alerts,
            "duplicate_alerts": dup,
            "crawl_statuses": sorted(s.value for s in statuses),
            "seconds": round(elapsed, 1),
            "listings_per_second": round(listings / elapsed, 1),
            "fetch_to_alert_p50_s": round(percentile(latencies, 0.5), 1),
            "fetch_to_alert_p95_s": round(percentile(latencies, 0.95), 1),
            "precision": round(score.precision, 4),
            "recall": round(score.recall, 4),
            "reach": round(score.reach, 4),
            "recall_on_crawled": round(score.recall_on_crawled, 4),
            "infringing_labelled": score.infringing_labelled,
            "infringing_crawled": score.infringing_crawled,
            "labelled_reached": len(reached & labelled),
            "broken_reached": len(broken),
            "broken_stored": len(broken & stored_keys),
            "reached_not_stored": len((reached & labelled) - stored_keys),
            "stored_not_matched": len(reached & unmatched),
            "infringing_reached": len(reached & infringing),
            "infringing_not_alerted": len(reached & infringing & missed),
            "workers": f"crawler x {args.crawl_concurrency}, matcher x {args.match_concurrency}",
        }
        text = "\n".join([
            f"pipeline load, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{os.cpu_count()} cores, PostgreSQL + Redis, {figures['workers']}",
            *(f"  {k:<22} {v}" for k, v in figures.items()),
            "recall per disguise type (fixtures.marketplaces.scoring):",
            *(f"  {line}" for line in score.table().splitlines()),
        ])
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        if args.json:
            args.json.write_text(json.dumps(figures))
        ok = (statuses == {CrawlStatus.SUCCEEDED} and dup == 0
              and figures["reached_not_stored"] == 0 and figures["stored_not_matched"] == 0
              and score.reach >= 0.98)
        engine.dispose()
        return 0 if ok else 1
    finally:
        for c in reversed(children):
            c.stop()
        for key in r.scan_iter(match=f"{dbname}:*"):
            r.delete(key)
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
