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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import Base, Listing, Product, _refuse
from db.types import UTCDateTime, created_at, intpk


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
    # the hashes of its mirror image and crops (markwatch.imaging.VARIANTS): [[name, p, d], ...]
    variants: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[created_at]


class ImageText(Base):
    """The text read in a photo (by its SHA-256: read once however many listings show it)."""

    __tablename__ = "image_text"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16))  # ok, timeout, unreadable, error
    engine: Mapped[str] = mapped_column(sa.String(64))
    languages: Mapped[str] = mapped_column(sa.String(64))
    seconds: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[created_at]


sa.event.listen(ListingImage, "before_update", _refuse("update"))
sa.event.listen(ListingImage, "before_delete", _refuse("delete"))


@dataclass(frozen=True)
class PhotoRecord:
    """What is kept of one photo: where its bytes and thumbnail are, and what it is."""

    sha256: str
    object_key: str
    thumb_key: str
    size: int
    content_type: str
    width: int
    height: int
    phash: str
    dhash: str
    variants: tuple[tuple[str, str, str], ...] = ()  # (form, pHash, dHash) of edited forms


def captured_urls(session: Session, listing_id: int) -> set[str]:
    """The image URLs of a listing already captured (not fetched again)."""
    return set(session.scalars(sa.select(ListingImage.url).where(ListingImage.listing_id == listing_id)))


def add_listing_image(session: Session, *, listing_id: int, crawl_run_id: int | None,
                      position: int, url: str, fetched_at: datetime, photo: PhotoRecord,
                      warc_file: str | None, warc_record_id: str | None) -> bool:
    """Record one captured photo of a listing unless the listing already has those bytes;
    True if a row was added. A new photo marks the listing for matching again."""
    exists = session.scalar(
        sa.select(ListingImage.id).where(ListingImage.listing_id == listing_id,
                                         ListingImage.sha256 == photo.sha256)
    )
    if exists is not None:
        return False
    session.add(ListingImage(
        listing_id=listing_id, crawl_run_id=crawl_run_id, position=position, url=url,
        fetched_at=fetched_at, sha256=photo.sha256, size=photo.size,
        content_type=photo.content_type, width=photo.width, height=photo.height,
        object_key=photo.object_key, thumb_key=photo.thumb_key, warc_file=warc_file,
        warc_record_id=warc_record_id, phash=photo.phash, dhash=photo.dhash,
    ))
    session.execute(sa.update(Listing).where(Listing.id == listing_id).values(matched_hash=None))
    return True


def add_product_photo(session: Session, product: Product, filename: str,
                      photo: PhotoRecord) -> bool:
    """Record an official photo of ``product``; False if the product already has those bytes.
    The product's ``image_hashes`` (SHA-256 of its photos) gains the photo's digest."""
    exists = session.scalar(
        sa.select(ProductPhoto.id).where(ProductPhoto.product_id == product.id,
                                         ProductPhoto.sha256 == photo.sha256)
    )
    if exists is not None:
        return False
    session.add(ProductPhoto(
        product_id=product.id, filename=filename[:300], sha256=photo.sha256, size=photo.size,
        content_type=photo.content_type, width=photo.width, height=photo.height,
        object_key=photo.object_key, thumb_key=photo.thumb_key, phash=photo.phash,
        dhash=photo.dhash, variants=[list(v) for v in photo.variants],
    ))
    if photo.sha256 not in (product.image_hashes or []):
        product.image_hashes = [*(product.image_hashes or []), photo.sha256]
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


def product_named(session: Session, folder: str, holder_slug: str | None) -> Product | str | None:
    """The product a folder names (its name or one of its model numbers, case-insensitively);
    a string says why there is no single one."""
    from db.models import RightsHolder

    q = sa.select(Product)
    if holder_slug:
        q = q.join(RightsHolder, Product.rights_holder_id == RightsHolder.id).where(
            RightsHolder.slug == holder_slug)
    key = folder.strip().casefold()
    found = [p for p in session.scalars(q) if p.name.casefold() == key
             or any(str(m).casefold() == key for m in p.model_numbers or ())]
    if len(found) > 1:
        return "ambiguous_product"
    return found[0] if found else None


def alert_images(scope: Any, alert_id: int) -> list[ListingImage]:
    """The captured photos of an alert's listing (the scope refuses another holder's alert)."""
    from db.models import Alert

    alert = scope.get(Alert, alert_id)
    return listing_images(scope.session, [alert.listing_id])[alert.listing_id]


def alert_image(scope: Any, alert_id: int, image_id: int) -> ListingImage:
    """One captured photo of an alert's listing; NotFound for any other."""
    from db.models import Alert
    from db.tenancy import NotFound

    alert = scope.get(Alert, alert_id)
    row = scope.session.get(ListingImage, image_id)
    if row is None or row.listing_id != alert.listing_id:
        raise NotFound("no such photo for this alert")
    return row


def texts_of(session: Session, digests: Iterable[str]) -> dict[str, ImageText]:
    wanted = sorted(set(digests))
    out: dict[str, ImageText] = {}
    for i in range(0, len(wanted), 500):
        for row in session.scalars(sa.select(ImageText).where(ImageText.sha256.in_(wanted[i:i + 500]))):
            out[row.sha256] = row
    return out


def add_text(session: Session, row: ImageText) -> None:
    """Keep what was read in a photo; another worker that read it first wins (same bytes, same
    text)."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass


def first_photos(session: Session, alert_ids: Iterable[int]) -> dict[int, int]:
    """Alert id -> the id of its listing's first captured photo (for a card view)."""
    from db.models import Alert

    ids = list(alert_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(Alert.id, sa.func.min(ListingImage.id))
        .join(ListingImage, ListingImage.listing_id == Alert.listing_id)
        .where(Alert.id.in_(ids)).group_by(Alert.id)
    )
    return {a: i for a, i in rows}
