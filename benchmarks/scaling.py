"""Per-worker throughput and storage per row, for docs/scaling.md, measured on real processes:
PostgreSQL, Redis, evidence in an S3-compatible server (moto's server mode), one crawler worker
process and one matcher worker process, each with its Prometheus endpoint, which is where the
figures come from (busy time: the sum of task durations).

    python benchmarks/scaling.py --out benchmarks/results/scaling.txt

1. Every demo watch crawled against the bundled marketplaces with politeness lifted (what one
   crawl process costs in CPU), then matched: pages per busy minute per crawl process, listings
   matched per busy second per matcher process.
2. One watch crawled again with the default politeness (MARKWATCH_CRAWL_DELAY, one request in
   flight per host), first result page only: pages per minute per crawl process as a marketplace
   would see it.
3. Bytes per row of each growing table (PostgreSQL, indexes included) and per evidence object.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import upgrade  # noqa: E402
from db.models import CrawlRun, Watch  # noqa: E402
from db.registry import load_directory  # noqa: E402
from db.session import make_engine, session_factory, transaction  # noqa: E402
from markwatch.demo import DEMO_REGISTRY, read_progress  # noqa: E402
from markwatch.processes import Child, child_env, marketplaces_argv, wait_http, worker_argv  # noqa: E402
from markwatch.settings import get_settings  # noqa: E402
from tests.objectstore import S3Server, free_port  # noqa: E402

TABLES = ("listing", "evidence_snapshot", "crawl_sighting", "alert", "alert_event", "crawl_run")


def scrape(port: int) -> dict[str, float]:
    """Sum of each metric family's samples, by name (labels dropped)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


def task_seconds(port: int, task: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return sum(float(v) for v in re.findall(
        rf'^markwatch_task_duration_seconds_sum\{{[^}}]*task="{re.escape(task)}"[^}}]*\}} (\S+)$',
        text, re.M))


def wait_done(factory, run_ids, children, timeout: float) -> float:
    started = time.monotonic()
    while not read_progress(factory, run_ids).finished:
        for c in children:
            c.check_alive()
        if time.monotonic() - started > timeout:
            raise SystemExit(f"not finished within {timeout} s")
        time.sleep(2)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--listings", type=int, default=2400)
    ap.add_argument("--pg", default=os.environ.get(
        "MARKWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/scaling.txt")
    args = ap.parse_args(argv)

    import redis as redis_lib

    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    dbname = f"mw_scale_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{dbname}"'))
    url = sa.engine.make_url(args.pg).set(database=dbname).render_as_string(hide_password=False)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / dbname
    work.mkdir(parents=True)
    s3 = S3Server(work).start()
    port = free_port()
    while any(_busy(port + i) for i in range(3)):
        port = free_port()
    urls = {c: f"http://127.0.0.1:{port + i}" for i, c in enumerate(("shopa", "shopb", "shopc"))}
    env = {
        "MARKWATCH_DATABASE_URL": url, "MARKWATCH_BROKER_URL": args.redis,
        "MARKWATCH_DATA_DIR": str(work), "MARKWATCH_ENV": "test",
        "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": ",".join(u.split("//")[1] for u in urls.values()),
        "MARKWATCH_LOG_LEVEL": "WARNING", "MARKWATCH_BROKER_KEY_PREFIX": f"{dbname}:",
        **s3.env(s3.new_bucket()),
    }
    os.environ.update(env)
    get_settings.cache_clear()
    children: list[Child] = []
    ports = {"crawler": free_port(), "matcher": free_port(), "polite": free_port()}

    def worker(name: str, queue: str, **extra: str) -> Child:
        c = Child(name, worker_argv(concurrency=1, name=name, queues=queue, loglevel="WARNING"),
                  env=child_env(**env, MARKWATCH_METRICS_PORT=str(ports[name]), **extra),
                  log_path=work / f"{name}.log").start()
        children.append(c)
        return c

    try:
        upgrade(url)
        engine = make_engine(url)
        factory = session_factory(engine)
        with transaction(factory) as s:
            load_directory(s, DEMO_REGISTRY, base_urls=urls)
        shops = Child("marketplaces", marketplaces_argv(host="127.0.0.1", port=port,
                                                        seed=20261124, listings=args.listings),
                      env=child_env(**env), log_path=work / "marketplaces.log").start()
        children.append(shops)
        wait_http([u + "/healthz" for u in urls.values()], timeout=300, child=shops)
        worker("crawler", "crawl", MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED="1")
        worker("matcher", "markwatch")
        time.sleep(5)
        from tasks.schedule import start_due_watches

        with transaction(factory) as s:
            run_ids = start_due_watches(s, now=datetime.now(UTC))
        wall = wait_done(factory, run_ids, children, 3000)
        time.sleep(3)
        crawl = scrape(ports["crawler"])
        match = scrape(ports["matcher"])
        crawl_busy = task_seconds(ports["crawler"], "tasks.crawl.crawl_watch")
        match_busy = task_seconds(ports["matcher"], "tasks.match.match_listings")
        pages = crawl["markwatch_pages_fetched_total"]
        matched = match["markwatch_listings_matched_total"]
        print(f"phase 1: {pages:.0f} pages in {crawl_busy:.0f} s busy, {matched:.0f} listings "
              f"matched in {match_busy:.1f} s busy", file=sys.stderr, flush=True)

        # 2. politeness on: one watch (the largest), its first result page and the product pages
        # on it, the default delay, one request in flight per host
        crawler = next(c for c in children if c.name == "crawler")
        crawler.stop()
        children.remove(crawler)
        delay = get_settings().crawl_delay
        worker("polite", "crawl", MARKWATCH_CRAWL_MAX_PAGES="1")
        time.sleep(5)
        with transaction(factory) as s:
            watch_id = s.scalar(sa.select(CrawlRun.watch_id).order_by(
                CrawlRun.listings_seen.desc()).limit(1))
            s.execute(sa.update(Watch).where(Watch.id == watch_id).values(
                next_run_at=datetime.now(UTC)))
        with transaction(factory) as s:
            polite_runs = start_due_watches(s, now=datetime.now(UTC), only=[watch_id])
        wait_done(factory, polite_runs, children, 3000)
        time.sleep(3)
        polite = scrape(ports["polite"])
        polite_busy = task_seconds(ports["polite"], "tasks.crawl.crawl_watch")
        polite_pages = polite["markwatch_pages_fetched_total"]

        with engine.connect() as c:
            sizes = {}
            for t in TABLES:
                rows = c.execute(sa.text(f"select count(*) from {t}")).scalar()
                size = c.execute(sa.text(f"select pg_total_relation_size('{t}')")).scalar()
                sizes[t] = (rows, size)
        from markwatch.objectstore import evidence_store

        objects = list(evidence_store().list("warc/"))
        lines = [
            f"scaling, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared by "
            f"every process, PostgreSQL + Redis + S3 (moto), {args.listings} test listings",
            "1. politeness lifted (loopback test shops): one crawl process, one matcher process",
            f"  crawls                     {len(run_ids)} in {wall:.0f} s wall; "
            f"{pages / len(run_ids):.0f} pages and {_listings_seen(engine, run_ids) / len(run_ids):.0f}"
            " listings per crawl",
            f"  pages fetched              {pages:.0f} in {crawl_busy:.0f} s busy = "
            f"{pages / crawl_busy * 60:.0f} pages/min per crawl process",
            f"  listings matched           {matched:.0f} in {match_busy:.1f} s busy = "
            f"{matched / match_busy:.0f} listings/s per matcher process (demo registry: "
            f"{_count(engine, 'mark')} marks)",
            f"2. politeness on (MARKWATCH_CRAWL_DELAY={delay:g} s, 1 request in flight per host)",
            f"  pages fetched              {polite_pages:.0f} in {polite_busy:.0f} s = "
            f"{polite_pages / polite_busy * 60:.1f} pages/min per crawl process",
            "3. storage",
            *(f"  {t:<26} {rows:>7} rows  {size / max(rows, 1):8.0f} bytes/row (with indexes)"
              for t, (rows, size) in sizes.items()),
            f"  evidence objects           {len(objects):>7}      "
            f"{sum(o.size for o in objects) / max(len(objects), 1):8.0f} bytes/object (WARC, gzip)",
            "  images                     not captured yet: images/s not measurable",
        ]
        text = "\n".join(lines)
        print(text)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        engine.dispose()
        return 0
    finally:
        for c in reversed(children):
            c.stop()
        s3.stop()
        r = redis_lib.Redis.from_url(args.redis)
        for key in r.scan_iter(match=f"{dbname}:*"):
            r.delete(key)
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def _busy(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _listings_seen(engine, run_ids: list[int]) -> int:
    with engine.connect() as c:
        return c.execute(sa.select(sa.func.sum(CrawlRun.listings_seen)).where(
            CrawlRun.id.in_(run_ids))).scalar() or 0


def _count(engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text(f"select count(*) from {table}")).scalar()


if __name__ == "__main__":
    sys.exit(main())
