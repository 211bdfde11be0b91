"""Official product photos imported into a real store, listing photos captured as the crawler
stores them, and screening that finds a copied official photo (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from PIL import Image

from db.listings import ListingFields, upsert_listing
from db.models import Alert, Marketplace, Product
from db.photos import ListingImage, ProductPhoto, add_listing_image
from db.registry import load_directory
from db.session import transaction
from fixtures.marketplaces import write_official_photos
from fixtures.marketplaces.images import png_for
from markwatch.imaging import read_photo
from markwatch.objectstore import evidence_store
from markwatch.photos import import_product_photos, store_photo
from markwatch.screening import screen_listings
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY

OFFICIAL = "official:018245771:0:1"  # Kestrel Trail Runner 2, its second official photo


def _listing(s, shop: int, external_id: str, title: str) -> int:
    return upsert_listing(s, shop, ListingFields(
        external_id=external_id, url=f"http://127.0.0.1:8301/item/{external_id}", title=title,
        seller="shoe-hub", category="Shoes > Running", condition="new"),
        seen_at=datetime.now(UTC), crawl_run_id=None).listing_id


def _capture(s, listing_id: int, key: str, position: int = 0) -> None:
    data = png_for(key)
    add_listing_image(s, listing_id=listing_id, crawl_run_id=None, position=position,
                      url=f"http://127.0.0.1:8301/img/{listing_id}/{position}.png",
                      fetched_at=datetime.now(UTC),
                      photo=store_photo(evidence_store(), data, read_photo(data)),
                      warc_file=None, warc_record_id=None)


def test_a_copied_official_photo_raises_an_alert_that_names_it(sessions, tmp_path: Path):
    photos = write_official_photos(tmp_path / "official")
    (photos / "Kestrel Trail Runner 2" / "notes.txt").write_text("not a photo")
    (photos / "No Such Product").mkdir()
    (photos / "No Such Product" / "x.png").write_bytes(png_for("own:x"))
    store = evidence_store()
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
        result = import_product_photos(s, store, photos)
    assert result.imported == 21 and result.skipped == {"not_an_image": 1, "unknown_product": 1}
    with transaction(sessions) as s:
        again = import_product_photos(s, store, photos)
        rows = s.scalars(sa.select(ProductPhoto)).all()
        runner = s.scalar(sa.select(Product).filter_by(name="Kestrel Trail Runner 2"))
        assert runner is not None and len(runner.image_hashes) == 3
    assert again.imported == 0 and again.already == 21 and len(rows) == 21
    assert all(len(r.variants) == 7 and store.exists(r.object_key) for r in rows)

    with transaction(sessions) as s:
        shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopa"))
        assert shop is not None
        # the mark nowhere in the text, the official photo cropped by the seller
        quiet = _listing(s, shop, "q1", "Mens trail running shoes, breathable mesh")
        _capture(s, quiet, "own:shopa:q1:0")
        _capture(s, quiet, f"copy:crop:{OFFICIAL}:q1", 1)
        # the mark in the text and a mirrored copy of the photo
        loud = _listing(s, shop, "l1", "KESTREL trail running shoes")
        _capture(s, loud, f"copy:mirror:{OFFICIAL}:l1")
        # neither
        plain = _listing(s, shop, "p1", "Mens trail running shoes, breathable mesh")
        _capture(s, plain, "own:shopa:p1:0")
        out = screen_listings(s, [quiet, loud, plain], get_settings())
    assert out.alerts_created == 2
    with transaction(sessions) as s:
        alerts = {a.listing_id: a for a in s.scalars(sa.select(Alert))}
        assert set(alerts) == {quiet, loud}
        q = alerts[quiet]
        assert q.kind == "product" and [r["check"] for r in q.reasons][:2] == [
            "official_photo", "photo_only"]
        assert q.reasons[0]["span"] == "image 2" and "018245771-0-1.png" in q.reasons[0]["detail"]
        mirrored = next(r for r in alerts[loud].reasons if r["check"] == "official_photo")
        assert "mirror" in mirrored["detail"] and mirrored["points"] > 0
        # captured photos are write-once, and keep a thumbnail in the store
        image = s.scalars(sa.select(ListingImage)).first()
        assert image is not None
        thumb = Image.open(io.BytesIO(store.get(image.thumb_key)))
        assert thumb.format == "JPEG"


def test_products_images_import_command(sqlite_url: str, tmp_path: Path, monkeypatch):
    from markwatch.cli import main

    monkeypatch.setenv("MARKWATCH_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(main, ["registry", "load", str(DEMO_REGISTRY)]).exit_code == 0
    photos = write_official_photos(tmp_path / "official")
    (photos / "Kestrel Trail Runner 2" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    res = runner.invoke(main, ["products", "images", "import", str(photos)])
    assert res.exit_code == 0, res.output
    assert "21 photos imported, 0 already there, skipped: 1 not_an_image" in res.output
    res = runner.invoke(main, ["products", "images", "import", str(photos), "--holder", "nobody"])
    assert res.exit_code == 1 and "no rights holder 'nobody'" in res.output
    res = runner.invoke(main, ["products", "images", "import", str(photos), "--holder",
                               "aurelia-atelier"])
    assert res.exit_code == 0, res.output
    assert "0 photos imported, 6 already there, skipped: 16 unknown_product" in res.output
