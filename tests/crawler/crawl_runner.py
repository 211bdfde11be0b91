"""Run one marketplace's profile for one or more watches and write what it yields as JSON lines.

    python tests/crawler/crawl_runner.py PROFILE.toml BASE_URL OUT.jsonl TERMS [TERMS ...]
    python tests/crawler/crawl_runner.py sea_shop:CODE BASE_URL OUT.jsonl TERMS [TERMS ...]

(the second form runs a Python spider by name for marketplace CODE).

Each TERMS argument is one watch (``|``-separated terms) and one crawl; the crawls share a
process. Lines: ``{"kind": "item", ...}`` per listing, then ``{"kind": "stats", ...}`` per crawl.
Used by the real-crawl test; it runs the project's settings (robots.txt obeyed, the SSRF guard
with only BASE_URL's host:port allowed, Retry-After honoured) without the delay or the store.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scrapy import signals  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.settings import Settings  # noqa: E402

from crawler.profile import read_profile_file  # noqa: E402
from crawler.spiders.profile import ProfileSpider  # noqa: E402
from crawler.spiders.sea_shop import SeaShopSpider  # noqa: E402

SPIDERS = {SeaShopSpider.name: SeaShopSpider}

SETTINGS = {
    "ROBOTSTXT_OBEY": True,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_TIMES": 2,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
    "USER_AGENT": "markwatch-test (+https://github.com/markwatch/markwatch)",
}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"sha256": sha256(value).hexdigest(), "length": len(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    profile_file, base_url, out, *watches = argv
    spider_name, _, code = profile_file.partition(":")
    profile = None if code else read_profile_file(Path(profile_file), base_url=base_url)
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(SETTINGS, priority="cmdline")
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS", urlsplit(base_url).netloc, "cmdline")
    if profile is not None and profile.render == "browser":
        from crawler.browser import browser_settings

        browser_settings(settings, allowed_private_hosts=urlsplit(base_url).netloc,
                         executable=Path(os.environ.get("MARKWATCH_CRAWL_BROWSER",
                                                        "/usr/bin/chromium")))
    process = CrawlerProcess(settings)
    fh = open(out, "w", encoding="utf-8")  # noqa: SIM115
    crawlers = []

    def on_item(item, response, spider):
        row = {"kind": "item", **_plain(asdict(item))}
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    for terms in watches:
        crawler = process.create_crawler(ProfileSpider if profile else SPIDERS[spider_name])
        crawler.signals.connect(on_item, signal=signals.item_scraped)
        if profile is not None:
            process.crawl(crawler, profile=profile.to_json(), terms=terms)
        else:
            process.crawl(crawler, marketplace=code, base_url=base_url, terms=terms)
        crawlers.append((terms, crawler))
    process.start()
    for terms, crawler in crawlers:
        stats = _plain(crawler.stats.get_stats())
        fh.write(json.dumps({"kind": "stats", "terms": terms, **stats}, ensure_ascii=False) + "\n")
    fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
