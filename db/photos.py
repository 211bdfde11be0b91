"""Photos in the store: listing photos captured with the evidence, and official product photos.

Both keep the photo's SHA-256 and its object key in the evidence store (``image/ab/<sha256>.png``,
content-addressed, so a photo two listings share is stored once), a JPEG thumbnail
(``thumb/…``) made once, and perceptual hashes (``markwatch.imaging``) as 16 hex digits. A
listing photo is also written as a WARC record, like the page it was found on. Rows are
write-once: a listing photo seen again is not stored again, and none is ever updated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import Base, Listing, Product, _refuse
from db.types import UTCDateTime, created_at, intpk
from storage import ObjectStore, key_digest

if TYPE_CHECKING:
    from markwatch.imaging import Photo

IMAGE_KIND = "image"
THUMB_KIND = "thumb"


class ListingImage(Base):
    """One photo of a listing as the crawler fetched it. Written once."""

    __tablename__ = "listing_image"
    __table_args__ = (sa.UniqueConstraint("listing_id", "sha256"),)

    id: Mapped[intpk]
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listing.id", ondelete="RESTRICT"), index=True
    )
    crawl_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("crawl_run.id", ondelete="SET NULL")
    )
    position: Mapped[int]  # its place among the listing's images (0 first)
    url: Mapped[str] = mapped_column(sa.String(2000))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int]
    height: Mapped[int]
    object_key: Mapped[str] = mapped_column(sa.String(300))
    thumb_key: Mapped[str] = mapped_column(sa.String(300))
    warc_file: Mapped[str | None] = mapped_column(sa.String(300))
    warc_record_id: Mapped[str | None] = mapped_column(sa.String(100))
    phash: Mapped[str] = mapped_column(sa.String(16), index=True)
    dhash: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[created_at]


class ProductPhoto(Base):
    """An official photo of a rights holder's product, with the hashes of it and its mirror."""

    __tablename__ = "product_photo"
    __table_args__ = (sa.UniqueConstraint("product_id", "sha256"),)

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int]
    height: Mapped[int]
    object_key: Mapped[str] = mapped_column(sa.String(300))
    thumb_key: Mapped[str] = mapped_column(sa.String(300))
    phash: Mapped[str] = mapped_column(sa.String(16))
    dhash: Mapped[str] = mapped_column(sa.String(16))
    phash_mirror: Mapped[str] = mapped_column(sa.String(16))
    dhash_mirror: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[created_at]


sa.event.listen(ListingImage, "before_update", _refuse("update"))
sa.event.listen(ListingImage, "before_delete", _refuse("delete"))


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    object_key: str
    thumb_key: str


def store_photo(store: ObjectStore, data: bytes, photo: Photo) -> StoredPhoto:
    """Put the photo and its thumbnail in the store (each once, by content)."""
    obj = store.put(IMAGE_KIND, data, suffix=photo.suffix, content_type=photo.mime)
    thumb = store.put(THUMB_KIND, photo.thumbnail, suffix=".jpg", content_type="image/jpeg")
    digest = key_digest(obj.key)
    assert digest is not None
    return StoredPhoto(digest, obj.key, thumb.key)


def captured_urls(session: Session, listing_id: int) -> set[str]:
    """The image URLs of a listing already captured (not fetched again)."""
    return set(session.scalars(sa.select(ListingImage.url).where(ListingImage.listing_id == listing_id)))


def add_listing_image(session: Session, *, listing_id: int, crawl_run_id: int | None,
                      position: int, url: str, fetched_at: datetime, data: bytes, photo: Photo,
                      stored: StoredPhoto, warc_file: str | None, warc_record_id: str | None
                      ) -> bool:
    """Record one captured photo of a listing unless the listing already has those bytes;
    True if a row was added. A new photo marks the listing for matching again."""
    exists = session.scalar(
        sa.select(ListingImage.id).where(ListingImage.listing_id == listing_id,
                                         ListingImage.sha256 == stored.sha256)
    )
    if exists is not None:
        return False
    session.add(ListingImage(
        listing_id=listing_id, crawl_run_id=crawl_run_id, position=position, url=url,
        fetched_at=fetched_at, sha256=stored.sha256, size=len(data), content_type=photo.mime,
        width=photo.width, height=photo.height, object_key=stored.object_key,
        thumb_key=stored.thumb_key, warc_file=warc_file, warc_record_id=warc_record_id,
        phash=photo.hashes.phash, dhash=photo.hashes.dhash,
    ))
    session.execute(sa.update(Listing).where(Listing.id == listing_id).values(matched_hash=None))
    return True


def add_product_photo(session: Session, product: Product, filename: str, data: bytes,
                      photo: Photo, stored: StoredPhoto) -> bool:
    """Record an official photo of ``product``; False if the product already has those bytes.
    The product's ``image_hashes`` (SHA-256 of its photos) gains the photo's digest."""
    exists = session.scalar(
        sa.select(ProductPhoto.id).where(ProductPhoto.product_id == product.id,
                                         ProductPhoto.sha256 == stored.sha256)
    )
    if exists is not None:
        return False
    h = photo.hashes
    session.add(ProductPhoto(
        product_id=product.id, filename=filename[:300], sha256=stored.sha256, size=len(data),
        content_type=photo.mime, width=photo.width, height=photo.height,
        object_key=stored.object_key, thumb_key=stored.thumb_key, phash=h.phash, dhash=h.dhash,
        phash_mirror=h.phash_mirror, dhash_mirror=h.dhash_mirror,
    ))
    if stored.sha256 not in (product.image_hashes or []):
        product.image_hashes = [*(product.image_hashes or []), stored.sha256]
    return True


def listing_images(session: Session, listing_ids: Iterable[int]) -> dict[int, list[ListingImage]]:
    ids = list(listing_ids)
    out: dict[int, list[ListingImage]] = {i: [] for i in ids}
    for i in range(0, len(ids), 500):
        for row in session.scalars(
            sa.select(ListingImage).where(ListingImage.listing_id.in_(ids[i:i + 500]))
            .order_by(ListingImage.listing_id, ListingImage.position, ListingImage.id)
        ):
            out[row.listing_id].append(row)
    return out
