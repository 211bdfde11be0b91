"""Text in listing photos: real Tesseract on real photos, stored per photo and matched with
reasons that say in which photo (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont

from db.listings import ListingFields, upsert_listing
from db.models import Alert, Marketplace
from db.photos import ImageText, add_listing_image
from db.registry import load_directory
from db.session import transaction
from fixtures.marketplaces.images import FONTS, png_for
from markwatch.imaging import read_photo
from markwatch.objectstore import evidence_store
from markwatch.ocr import read_text, tidy
from markwatch.photos import store_photo
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY


def _label_photo(text: str, script: str, busy: bool = True) -> bytes:
    """A product shot with a printed label, as a seller photographs it (``busy``: over a
    coloured product; else packaging on a plain backdrop)."""
    base = (Image.open(io.BytesIO(png_for("own:ocr-test:0"))).convert("RGB") if busy
            else Image.new("RGB", (320, 320), (236, 232, 226)))
    font = ImageFont.truetype(FONTS[script], 44)
    d = ImageDraw.Draw(base)
    box = d.textbbox((40, 120), text, font=font)
    d.rectangle((box[0] - 12, box[1] - 10, box[2] + 12, box[3] + 10), fill=(245, 245, 240))
    d.text((40, 120), text, font=font, fill=(15, 15, 15))
    out = io.BytesIO()
    base.save(out, "PNG")
    return out.getvalue()


def test_tesseract_reads_latin_and_chinese_labels():
    latin = read_text(_label_photo("KESTREL", "latin"))
    assert latin.status == "ok" and "KESTREL" in latin.text
    # Debian's Chinese data is Tesseract's fast model: it reads a label on plain packaging;
    # over a busy product it mostly does not (see the figures in the README)
    han = read_text(_label_photo("墨朗", "han", busy=False))
    assert han.status == "ok" and "墨朗" in han.text


def test_a_bad_or_slow_photo_is_a_status_not_an_exception():
    assert read_text(b"<html>").status == "unreadable"
    slow = read_text(_label_photo("KESTREL", "latin"), timeout=0.001)
    assert slow.status == "timeout" and slow.text == ""
    assert tidy("  墨 朗  \n\n| AURELIA   bag |\n| o» |\nLm") == "墨朗\nAURELIA bag\nLm"


@pytest.mark.parametrize("ocr", [True, False])
def test_a_brand_only_in_the_photo_is_found_there(sessions, monkeypatch, ocr):
    monkeypatch.setenv("MARKWATCH_OCR_ENABLED", "1" if ocr else "0")
    get_settings.cache_clear()
    store = evidence_store()
    data = _label_photo("KESTREL", "latin")
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        assert shop is not None
        lid = upsert_listing(s, shop, ListingFields(
            external_id="o1", url="http://127.0.0.1:8301/item/o1",
            title="Mens trail running shoes, breathable mesh", seller="shoe-hub",
            category="Shoes > Running", condition="new"),
            seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        other = upsert_listing(s, shop, ListingFields(
            external_id="o2", url="http://127.0.0.1:8301/item/o2",
            title="Mens trail running shoes, breathable mesh, blue", seller="shoe-hub",
            category="Shoes > Running", condition="new"),
            seen_at=datetime.now(UTC), crawl_run_id=None).listing_id
        for listing_id in (lid, other):  # the same photo on two listings: read once
            add_listing_image(s, listing_id=listing_id, crawl_run_id=None, position=1,
                              url=f"http://127.0.0.1:8301/img/{listing_id}/1.png",
                              fetched_at=datetime.now(UTC),
                              photo=store_photo(store, data, read_photo(data)),
                              warc_file=None, warc_record_id=None)
        out = screen_listings(s, [lid, other], get_settings())
    with transaction(sessions) as s:
        texts = s.scalars(sa.select(ImageText)).all()
        alerts = s.scalars(sa.select(Alert).order_by(Alert.listing_id)).all()
        if not ocr:
            assert out.alerts_created == 0 and not texts
            return
        assert out.alerts_created == 2
        (text,) = texts
        assert text.status == "ok" and "KESTREL" in text.text and text.engine.startswith("tesseract")
        for alert in alerts:
            checks = [r["check"] for r in alert.reasons]
            assert checks[:2] == ["exact", "in_image"]
            assert alert.reasons[0]["detail"].startswith("in image 2: ")
            assert "KESTREL" in alert.reasons[1]["detail"] and alert.reasons[1]["span"] == "image 2"
