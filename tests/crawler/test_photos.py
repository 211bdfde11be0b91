"""Listing photos captured with the evidence: a real crawl (``python -m crawler.run``) of a test
marketplace into a real SQLite store and a directory object store."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from db.evidence import verify_evidence
from db.models import CrawlRun, Listing, Mark, Marketplace, Watch
from db.photos import ListingImage
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from fixtures.marketplaces import running_marketplaces
from fixtures.marketplaces.images import png_for
from markwatch.imaging import MAX_PIXELS, BadImage, read_photo
from storage import open_store
from tests.conftest import DEMO_REGISTRY, REPO

PER_LISTING = 2


def _crawl(env: dict[str, str], run_id: int) -> None:
    proc = subprocess.run([sys.executable, "-m", "crawler.run", str(run_id)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _new_run(factory, watch_id: int) -> int:
    with transaction(factory) as s:
        run = CrawlRun(watch_id=watch_id)
        s.add(run)
        s.flush()
        return run.id


@pytest.mark.slow
def test_a_crawl_keeps_each_listings_photos_once_in_the_store(sqlite_url: str, tmp_path: Path):
    engine = make_engine(sqlite_url)
    factory = session_factory(engine)
    with running_marketplaces(port=0, seed=7, listings=300, record_requests=True) as mp:
        with transaction(factory) as s:
            load_directory(s, DEMO_REGISTRY, base_urls=mp.urls)
            watch_id = s.scalar(
                sa.select(Watch.id).join(Marketplace, Watch.marketplace_id == Marketplace.id)
                .join(Mark, Watch.mark_id == Mark.id)
                .where(Marketplace.code == "shopa").order_by(Watch.id).limit(1)
            )
        netloc = mp["shopa"].split("://", 1)[1]
        env = {**os.environ, "PYTHONPATH": str(REPO), "MARKWATCH_DATABASE_URL": sqlite_url,
               "MARKWATCH_DATA_DIR": str(tmp_path / "data"),
               "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": netloc,
               "MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED": "true", "MARKWATCH_CRAWL_MAX_PAGES": "2",
               "MARKWATCH_CRAWL_IMAGES_PER_LISTING": str(PER_LISTING)}
        _crawl(env, _new_run(factory, watch_id))
        first = [p for (_shop, _m, p, _st) in list(mp.requests) if p.startswith("/img/")]
        # a second crawl fetches no photo it already has
        _crawl(env, _new_run(factory, watch_id))
        second = [p for (_shop, _m, p, _st) in list(mp.requests) if p.startswith("/img/")]
        shop = mp.shops["shopa"]

    assert first and second == first
    store = open_store(str(tmp_path / "data" / "evidence"))
    with factory() as s:
        rows = s.scalars(sa.select(ListingImage)).all()
        listings = {li.id: li for li in s.scalars(sa.select(Listing))}
        runs = s.scalars(sa.select(CrawlRun)).all()
    assert rows
    assert sum(r.stats.get("markwatch/images/captured", 0) for r in runs) == len(rows)
    per_listing = Counter(r.listing_id for r in rows)
    assert max(per_listing.values()) <= PER_LISTING
    keys_by_digest: dict[str, set[str]] = {}
    for r in rows:
        listing = listings[r.listing_id]
        served = shop.by_id[listing.external_id]
        # the bytes the shop served for that image, as stored, under their SHA-256
        data = store.get(r.object_key)
        assert data == png_for(served.images[r.position])
        assert hashlib.sha256(data).hexdigest() == r.sha256
        assert r.object_key.startswith(f"image/{r.sha256[:2]}/{r.sha256}")
        assert r.url == listing.images[r.position]
        thumb = Image.open(io.BytesIO(store.get(r.thumb_key)))
        assert thumb.format == "JPEG" and max(thumb.size) <= 256
        assert len(r.phash) == 16 and len(r.dhash) == 16
        assert r.warc_file and store.verify(r.warc_file) is None
        keys_by_digest.setdefault(r.sha256, set()).add(r.object_key)
        # the listing is matched again with its photos
        assert listing.matched_hash is None
    # one object per content, however many listings show it (an official photo reused)
    assert all(len(keys) == 1 for keys in keys_by_digest.values())
    assert len(keys_by_digest) < len(rows)
    record = rows[0]

    rec = next(iter(ArchiveIterator(io.BytesIO(store.get(record.warc_file)))))
    assert rec.rec_headers.get_header("WARC-Target-URI") == record.url
    assert rec.content_stream().read() == store.get(record.object_key)
    # evidence verify re-checks every photo; a tampered one is named
    with factory() as s:
        report = verify_evidence(s, store)
    assert report.photos == len(rows) and not [p for p in report.problems if "photo" in p]
    (tmp_path / "data" / "evidence" / record.object_key).write_bytes(b"tampered")
    with factory() as s:
        report = verify_evidence(s, store)
    assert [p for p in report.problems if f"listing photo {record.id} " in p]
    engine.dispose()


def _png(w: int, h: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_photos_are_checked_by_their_bytes_before_any_pixel_is_decoded():
    assert read_photo(_png(64, 48)).format == "PNG"
    with pytest.raises(BadImage) as e:
        read_photo(b"<html>not a photo</html>")
    assert e.value.reason == "not_an_image"
    with pytest.raises(BadImage) as e:
        read_photo(b"")
    assert e.value.reason == "empty"
    with pytest.raises(BadImage) as e:
        read_photo(_png(64, 48)[:-30])  # a PNG whose pixel data is cut short
    assert e.value.reason == "broken"
    with pytest.raises(BadImage) as e:
        read_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024))
    assert e.value.reason == "too_large"
    # a decompression bomb: a tiny file declaring 8000 x 8000 pixels
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000 and MAX_PIXELS < 8000 * 8000
    with pytest.raises(BadImage) as e:
        read_photo(bomb.getvalue())
    assert e.value.reason == "too_many_pixels"
    # an SVG (scripts) or a PDF is not taken for a photo, whatever its name or type says
    with pytest.raises(BadImage):
        read_photo(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')


class _PhotoHandler(BaseHTTPRequestHandler):
    """A marketplace host serving a page and photos good and bad, whatever the type it claims."""

    bodies: ClassVar[dict[str, tuple[str, bytes]]] = {}

    def do_GET(self) -> None:
        ctype, body = self.bodies.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in self.bodies else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_photos_pass_the_ssrf_guard_and_the_checks_or_are_counted_skips(sqlite_url, tmp_path):
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")
    _PhotoHandler.bodies = {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/page": ("text/html", b"<html><body>KESTREL</body></html>"),
        "/good.png": ("image/png", _png(64, 48)),
        "/page-as-photo.png": ("image/png", b"<html><script>alert(1)</script></html>"),
        "/bomb.png": ("image/png", bomb.getvalue()),
        "/svg.png": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        "/private/p.png": ("image/png", _png(8, 8)),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PhotoHandler)
    other = ThreadingHTTPServer(("127.0.0.1", 0), _PhotoHandler)  # not on the allow-list
    for srv in (server, other):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    images = [f"{base}/good.png", f"{base}/good.png", f"{base}/page-as-photo.png",
              f"{base}/bomb.png", f"{base}/svg.png", f"{base}/private/p.png",
              f"http://127.0.0.1:{other.server_address[1]}/good.png",
              "http://169.254.169.254/latest/meta-data/x.png", "file:///etc/passwd"]
    engine = make_engine(sqlite_url)
    with transaction(session_factory(engine)) as s:
        load_directory(s, DEMO_REGISTRY, base_urls={"shopa": base})
    env = {**os.environ, "PYTHONPATH": str(REPO), "MARKWATCH_DATABASE_URL": sqlite_url,
           "MARKWATCH_DATA_DIR": str(tmp_path / "data"),
           "MARKWATCH_CRAWL_ALLOWED_PRIVATE_HOSTS": base.split("://")[1],
           "MARKWATCH_CRAWL_LOOPBACK_UNTHROTTLED": "true",
           "MARKWATCH_CRAWL_IMAGES_PER_LISTING": "10"}
    out = tmp_path / "stats.json"
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.crawler.photo_runner", base,
                               json.dumps(images), str(out)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        other.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(out.read_text())
    with session_factory(engine)() as s:
        rows = s.scalars(sa.select(ListingImage)).all()
    engine.dispose()
    assert [r.url for r in rows] == [f"{base}/good.png"]  # once, though listed twice
    assert stats["markwatch/images/captured"] == 1
    assert stats["markwatch/images/skipped/not_an_image"] == 2  # the page and the SVG
    assert stats["markwatch/images/skipped/too_many_pixels"] == 1
    assert stats["markwatch/images/skipped/bad_url"] == 1  # file:
    # robots.txt, the port not on the allow-list and the metadata address: refused, not fetched
    assert stats["markwatch/images/skipped/fetch"] == 3
    assert stats.get("markwatch/blocked/loopback", 0) + stats.get(
        "markwatch/blocked/link_local", 0) + stats.get("markwatch/blocked/metadata", 0) >= 2
