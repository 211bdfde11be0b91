"""Run the photo pipeline in a real crawl over one page: ``python -m tests.crawler.photo_runner
BASE_URL IMAGES_JSON OUT_JSON``. A tiny spider fetches ``BASE_URL/page`` and yields one listing
whose photos are ``IMAGES_JSON``; the project's pipelines (persist, then photos) store it in the
store ``MARKWATCH_DATABASE_URL`` names. OUT_JSON gets the crawl's stats."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess

from crawler.items import ListingItem, SnapshotItem
from crawler.run import scrapy_settings
from markwatch.settings import get_settings


class OneListing(Spider):
    name = "one_listing"

    def __init__(self, base_url: str = "", images: str = "[]", **kw: Any):
        super().__init__(**kw)
        self.base_url, self.images = base_url, json.loads(images)

    async def start(self):
        yield Request(self.base_url + "/page")

    def parse(self, response: Any):
        yield ListingItem(
            marketplace="shopa", listing_id="P1", url=response.url, title="KESTREL trail shoes",
            images=self.images, seller="photo-test",
            snapshot=SnapshotItem(url=response.url, status=response.status, body=response.body,
                                  fetched_at=datetime.now(UTC)))


def main(argv: list[str]) -> int:
    base_url, images, out = argv
    s = scrapy_settings(get_settings(), base_url=base_url, run_id=None)
    s.set("TELNETCONSOLE_ENABLED", False, priority="cmdline")
    s.set("RETRY_ENABLED", False, priority="cmdline")
    process = CrawlerProcess(s)
    crawler = process.create_crawler(OneListing)
    process.crawl(crawler, base_url=base_url, images=images)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(stats, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
