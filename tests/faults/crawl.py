"""Run real crawls in this process with the project's settings, as ``crawler.run`` builds them.

    python -m tests.faults.crawl JOB.json OUT.json

JOB.json: ``{"jobs": [{"profile", "marketplace", "base_url", "terms"}], "settings": {...}}``
(``profile``: a bundled shop's code, its profile pointed at ``base_url``). The
crawls share one process and one reactor (as several hosts do in production's workers), with
Scrapy settings from ``crawler.run.scrapy_settings`` over the ``MARKWATCH_*`` environment, then
``settings`` on top, and the store left out (validate and dedupe only). OUT.json: per job its
items and stats, and the process's own peak resident memory (``VmHWM``) at the end.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.run import scrapy_settings
from crawler.spiders.profile import ProfileSpider
from fixtures.marketplaces.profiles import bundled_profile
from markwatch.settings import get_settings


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | datetime):
        return str(value)
    if isinstance(value, bytes):
        return {"length": len(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | str | bool | type(None)):
        return value
    return str(value)


def _peak_rss_kib() -> int:
    """This process's peak resident memory since its exec (VmHWM). Not ``ru_maxrss``: a child
    started by ``subprocess`` (vfork, then exec) carries the parent's peak in it, so under a
    large pytest process a bounded crawl would read as the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    job_file, out_file = argv
    with open(job_file, encoding="utf-8") as fh:
        spec = json.load(fh)
    jobs = spec["jobs"]
    s = scrapy_settings(get_settings(), base_url=jobs[0]["base_url"], run_id=None)
    s.set("ITEM_PIPELINES", {"crawler.pipelines.ValidatePipeline": 100,
                             "crawler.pipelines.DedupePipeline": 200}, priority="cmdline")
    s.set("TELNETCONSOLE_ENABLED", False, priority="cmdline")
    for k, v in (spec.get("settings") or {}).items():
        if k == "DOWNLOADER_MIDDLEWARES":  # merged into the project's, to switch one off
            v = {**s.getdict(k), **v}
        s.set(k, v, priority="cmdline")
    process = CrawlerProcess(s)
    results: list[dict[str, Any]] = []
    for job in jobs:
        res: dict[str, Any] = {"base_url": job["base_url"], "items": []}
        results.append(res)
        crawler = process.create_crawler(ProfileSpider)
        profile = bundled_profile(job["profile"], base_url=job["base_url"])

        def on_item(item: Any, response: Any, spider: Any, res: dict = res) -> None:
            d = asdict(item)
            d.pop("snapshot", None)
            res["items"].append(_plain(d))

        crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
        process.crawl(crawler, profile=profile.to_json(),
                      marketplace=job.get("marketplace", "shopa"), terms=job.get("terms", "kestrel"),
                      max_pages=str(job.get("max_pages", 3)))
        res["_crawler"] = crawler
    process.start()
    for res in results:
        crawler = res.pop("_crawler")
        res["stats"] = _plain(crawler.stats.get_stats())
    out = {"jobs": results, "maxrss_mb": _peak_rss_kib() / 1024}
    with open(out_file, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
