"""Run one crawl of one watch in this process: ``python -m crawler.run RUN_ID``.

Scrapy's Twisted reactor cannot be restarted inside a process, so each crawl runs in a process of
its own; the crawl task starts it and waits for it. The spider fills the store through the item
pipelines; this module records the run's figures when the spider closes.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from markwatch.settings import Settings, get_settings

log = logging.getLogger("crawler.run")


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_allowed_private_url(url: str, allowed_hosts: str) -> bool:
    """Whether ``url``'s host and port are on the guard's allow-list of private hosts."""
    from crawler.guard import UrlGuard

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return UrlGuard(allowed_hosts).is_allowed_private(parts.hostname or "", port)


def scrapy_settings(settings: Settings, *, base_url: str, run_id: int | None,
                    politeness: dict[str, Any] | None = None) -> ScrapySettings:
    s = ScrapySettings()
    s.setmodule("crawler.settings", priority="project")
    s.set("MARKWATCH_DATABASE_URL", settings.effective_database_url, priority="cmdline")
    s.set("MARKWATCH_EVIDENCE_URL", settings.effective_evidence_url, priority="cmdline")
    if run_id is not None:
        s.set("MARKWATCH_CRAWL_RUN_ID", run_id, priority="cmdline")
    s.set("USER_AGENT", settings.crawl_user_agent, priority="cmdline")
    s.set("DOWNLOAD_DELAY", settings.crawl_delay, priority="cmdline")
    s.set("AUTOTHROTTLE_START_DELAY", max(settings.crawl_delay, 0.1), priority="cmdline")
    s.set("CONCURRENT_REQUESTS_PER_DOMAIN", settings.crawl_concurrency_per_host, priority="cmdline")
    s.set("LOG_LEVEL", settings.log_level, priority="cmdline")
    s.set("CLOSESPIDER_TIMEOUT", settings.crawl_timeout, priority="cmdline")
    s.set("MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS", settings.crawl_allowed_private_hosts,
          priority="cmdline")
    s.set("MARKWATCH_RETRY_AFTER_MAX", settings.crawl_retry_after_max, priority="cmdline")
    s.set("MARKWATCH_IMAGES_PER_LISTING", settings.crawl_images_per_listing, priority="cmdline")
    # a profile's politeness overrides the settings' for its marketplace
    politeness = politeness or {}
    if politeness.get("delay") is not None:
        s.set("DOWNLOAD_DELAY", float(politeness["delay"]), priority="cmdline")
        s.set("AUTOTHROTTLE_START_DELAY", max(float(politeness["delay"]), 0.1), priority="cmdline")
    if politeness.get("concurrency") is not None:
        s.set("CONCURRENT_REQUESTS_PER_DOMAIN", int(politeness["concurrency"]), priority="cmdline")
    if (
        settings.crawl_loopback_unthrottled
        and is_loopback_url(base_url)
        and is_allowed_private_url(base_url, settings.crawl_allowed_private_hosts)
    ):
        # The bundled test marketplaces, explicitly allowed by settings: no delay needed.
        s.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        s.set("DOWNLOAD_DELAY_JITTER", 0, priority="cmdline")
        s.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        s.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="cmdline")
    return s


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in stats.items():
        if isinstance(v, datetime):
            v = v.isoformat()
        elif not isinstance(v, int | float | str | bool | type(None)):
            v = str(v)
        out[k] = v
    return out


def run_crawl(run_id: int, settings: Settings | None = None) -> int:
    """Crawl for crawl run ``run_id``; return a process exit code."""
    import sqlalchemy as sa

    from db.models import CrawlRun, Marketplace, Watch
    from db.session import make_engine, session_factory, transaction

    settings = settings or get_settings()
    engine = make_engine(settings.effective_database_url)
    factory = session_factory(engine)
    with factory() as s:
        row = s.execute(
            sa.select(CrawlRun, Watch, Marketplace)
            .join(Watch, CrawlRun.watch_id == Watch.id)
            .join(Marketplace, Watch.marketplace_id == Marketplace.id)
            .where(CrawlRun.id == run_id)
        ).first()
        if row is None:
            log.error("crawl run %s does not exist", run_id)
            return 2
        _run, watch, market = row
        spider, base_url, code, terms = market.spider, market.base_url, market.code, watch.terms
        profile = market.profile

    from crawler.profile import PROFILE_SPIDER, why_not_crawlable

    refused = why_not_crawlable(spider, profile)
    if refused:
        log.error("crawl run %s: marketplace %s cannot be crawled: %s", run_id, code, refused)
        print(f"marketplace {code} cannot be crawled: {refused}", file=sys.stderr)
        return 2
    ss = scrapy_settings(settings, base_url=base_url, run_id=run_id,
                         politeness=(profile or {}).get("politeness"))
    if (profile or {}).get("render") == "browser" and spider == PROFILE_SPIDER:
        from crawler.browser import browser_settings

        try:
            browser_settings(ss, allowed_private_hosts=settings.crawl_allowed_private_hosts,
                             executable=settings.crawl_browser,
                             timeout_ms=round(settings.crawl_browser_timeout * 1000))
        except FileNotFoundError as exc:
            print(f"marketplace {code} cannot be crawled: {exc}", file=sys.stderr)
            return 2
    log_path = settings.crawl_log_path(run_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    ss.set("LOG_FILE", str(log_path), priority="cmdline")
    ss.set("LOG_FILE_APPEND", False, priority="cmdline")
    process = CrawlerProcess(ss)
    crawler = process.create_crawler(spider)
    kwargs: dict[str, Any] = {}
    if spider == PROFILE_SPIDER:
        kwargs["profile"] = json.dumps(profile or {})
    process.crawl(
        crawler,
        marketplace=code,
        base_url=base_url,
        terms="|".join(terms),
        max_pages=str(settings.crawl_max_pages),
        **kwargs,
    )
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    reason = stats.get("finish_reason", "unknown")
    with transaction(factory) as s:
        run = s.get(CrawlRun, run_id)
        assert run is not None
        run.pages_fetched = int(stats.get("response_received_count", 0))
        run.listings_seen = int(stats.get("markwatch/listings_seen", 0))
        run.listings_new = int(stats.get("markwatch/listings_new", 0))
        run.listings_changed = int(stats.get("markwatch/listings_changed", 0))
        run.items_dropped = int(stats.get("item_dropped_count", 0))
        run.stats = _jsonable(stats)
    engine.dispose()
    log.info("crawl run %s finished: %s", run_id, reason)
    if reason != "finished":
        print(f"crawl ended: {reason} (log: {log_path})", file=sys.stderr)
    print(json.dumps({"run_id": run_id, "finish_reason": reason}), file=sys.stdout)
    return 0 if reason == "finished" else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    p.add_argument("run_id", type=int)
    args = p.parse_args(argv)
    return run_crawl(args.run_id)


if __name__ == "__main__":
    sys.exit(main())
