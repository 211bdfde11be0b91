"""Listing photos captured with the evidence: the item pipeline after ``PersistPipeline``.

For each stored listing, the first ``MARKWATCH_IMAGES_PER_LISTING`` image URLs not captured yet
are fetched by the crawl's own engine (``engine.download_async``), so every photo request passes
the same downloader middlewares as a page: the SSRF guard, robots.txt, the per-host download
slot (delay, concurrency, AutoThrottle), Retry-After, the typed fetch errors, and a 10 MB bound
(``download_maxsize``). The bytes must then be a photo by their magic bytes, of at most 40
megapixels (``markwatch.imaging``). An accepted photo is stored by content (once, however many
listings show it), with a thumbnail and a WARC record, and recorded as a write-once
``listing_image`` row with its perceptual hashes. Everything refused is logged and counted as
``markwatch/images/skipped/<reason>``; the listing itself is kept whatever happens to its photos.

Scrapy's ``FilesPipeline``/``ImagesPipeline`` do the fetching part, but they key files by the
SHA-1 of the URL, re-encode every image and write through their own stores; markwatch needs
content addressing by SHA-256 in its evidence store, WARC records and hashes, so this pipeline
asks the engine directly, as those pipelines do.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import ListingItem
from crawler.middlewares import IMAGE_META

log = logging.getLogger(__name__)

SKIPPED_STAT = "markwatch/images/skipped/{}"
CAPTURED_STAT = "markwatch/images/captured"


class PhotoCapturePipeline:
    def __init__(self, crawler: Crawler, database_url: str, crawl_run_id: int | None,
                 evidence_url: str, per_listing: int):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = database_url
        self.crawl_run_id = crawl_run_id
        self.evidence_url = evidence_url
        self.per_listing = per_listing

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PhotoCapturePipeline:
        s = crawler.settings
        url, evidence = s.get("MARKWATCH_DATABASE_URL"), s.get("MARKWATCH_EVIDENCE_URL")
        per_listing = s.getint("MARKWATCH_IMAGES_PER_LISTING")
        if not url or not evidence or per_listing <= 0:
            raise NotConfigured("no store, no evidence store or no photos asked for")
        return cls(crawler, url, s.getint("MARKWATCH_CRAWL_RUN_ID") or None, evidence, per_listing)

    def open_spider(self, spider: Spider | None = None) -> None:
        from db.captures import WarcArchive
        from db.session import make_engine, session_factory
        from markwatch.settings import get_settings
        from storage import open_store

        self.engine = make_engine(self.database_url)
        self.Session = session_factory(self.engine)
        self.store = open_store(**{**get_settings().evidence_store_options(),
                                   "url": self.evidence_url})
        self.warc = WarcArchive(self.store)

    def close_spider(self, spider: Spider | None = None) -> None:
        self.engine.dispose()

    def _skip(self, reason: str, url: str, detail: str = "") -> None:
        self.stats.inc_value(SKIPPED_STAT.format(reason))
        log.warning("photo skipped (%s) %s%s", reason, url[:300], f": {detail}" if detail else "")

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, ListingItem) or item.stored_id is None:
            return item
        from db.photos import captured_urls
        from db.session import transaction

        with transaction(self.Session) as s:
            done = captured_urls(s, item.stored_id)
        room = self.per_listing - len(done)
        urls = [u for u in dict.fromkeys(item.images) if u and u not in done]
        if len(urls) > room:
            self.stats.inc_value(SKIPPED_STAT.format("over_limit"), len(urls) - max(room, 0))
            urls = urls[:max(room, 0)]
        for url in urls:
            await self._capture(item.stored_id, item.images.index(url), url)
        return item

    async def _capture(self, listing_id: int, position: int, url: str) -> None:
        from db.photos import add_listing_image
        from db.session import transaction
        from markwatch.imaging import MAX_BYTES, BadImage, read_photo
        from markwatch.photos import store_photo

        if not url.startswith(("http://", "https://")):
            self._skip("bad_url", url)
            return
        request = Request(url, meta={IMAGE_META: True, "download_maxsize": MAX_BYTES,
                                     "download_warnsize": 0}, dont_filter=True)
        engine = self.crawler.engine
        assert engine is not None
        try:
            response = await engine.download_async(request)
        except IgnoreRequest as exc:  # the guard, robots.txt or a typed fetch error: explained
            self.stats.inc_value(SKIPPED_STAT.format("fetch"))
            log.info("photo not fetched %s: %s", url[:300], exc)
            return
        except Exception as exc:
            self._skip("fetch", url, f"{type(exc).__name__}: {exc}")
            return
        if response.status != 200:
            self._skip("status", url, str(response.status))
            return
        data = response.body
        try:
            # decoding and hashing are CPU work: off the reactor's thread
            photo = await maybe_deferred_to_future(deferToThread(read_photo, data))
        except BadImage as exc:
            self._skip(exc.reason, url, exc.detail)
            return
        fetched_at = datetime.now(UTC)
        headers = {k.decode("latin-1"): b",".join(v).decode("latin-1")
                   for k, v in response.headers.items()}
        ip = str(response.ip_address) if response.ip_address else None
        record = store_photo(self.store, data, photo)
        warc = self.warc.write(url=url, status=response.status, headers=headers, body=data,
                               fetched_at=fetched_at, ip_address=ip)
        with transaction(self.Session) as s:
            added = add_listing_image(
                s, listing_id=listing_id, crawl_run_id=self.crawl_run_id, position=position,
                url=url, fetched_at=fetched_at, photo=record, warc_file=warc.file,
                warc_record_id=warc.record_id,
            )
        if added:
            self.stats.inc_value(CAPTURED_STAT)
        else:
            self.stats.inc_value(SKIPPED_STAT.format("duplicate"))
