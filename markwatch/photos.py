"""Photos into the store: a checked, hashed photo's bytes and thumbnail put in the evidence
store by content, and the rights holders' official product photos imported from a directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Product, RightsHolder
from db.photos import PhotoRecord, add_product_photo, product_named
from markwatch.imaging import BadImage, Photo, read_photo
from storage import ObjectStore, key_digest

IMAGE_KIND = "image"
THUMB_KIND = "thumb"


def store_photo(store: ObjectStore, data: bytes, photo: Photo) -> PhotoRecord:
    """Put the photo and its thumbnail in the store (each once, by content)."""
    obj = store.put(IMAGE_KIND, data, suffix=photo.suffix, content_type=photo.mime)
    thumb = store.put(THUMB_KIND, photo.thumbnail, suffix=".jpg", content_type="image/jpeg")
    digest = key_digest(obj.key)
    assert digest is not None
    return PhotoRecord(
        sha256=digest, object_key=obj.key, thumb_key=thumb.key, size=len(data),
        content_type=photo.mime, width=photo.width, height=photo.height,
        phash=photo.hashes.phash, dhash=photo.hashes.dhash,
        variants=tuple((name, h.phash, h.dhash) for name, h in photo.variants.items()),
    )


@dataclass
class PhotoImport:
    imported: int = 0
    already: int = 0  # the product already had those bytes
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> files
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, what: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.problems.append(f"{what}: {reason}")

    def __str__(self) -> str:
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        return f"{self.imported} photos imported, {self.already} already there, skipped: {skipped}"


def import_product_photos(session: Session, store: ObjectStore, directory: Path, *,
                          holder_slug: str | None = None) -> PhotoImport:
    """Import official photos from ``directory/<product name or model number>/<photo>``: each
    checked and hashed (with its mirror image and crops), stored once by content with a
    thumbnail. Files that are not photos, and folders that name no single product, are counted
    and skipped."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    if holder_slug is not None and session.scalar(
        sa.select(RightsHolder.id).filter_by(slug=holder_slug)
    ) is None:
        raise LookupError(f"no rights holder {holder_slug!r}")
    result = PhotoImport()
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        product = product_named(session, folder.name, holder_slug)
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        if not isinstance(product, Product):
            for f in files:
                result.skip(product or "unknown_product", f"{folder.name}/{f.name}")
            continue
        for f in files:
            data = f.read_bytes()
            try:
                photo = read_photo(data, variants=True)
            except BadImage as exc:
                result.skip(exc.reason, f"{folder.name}/{f.name}")
                continue
            if add_product_photo(session, product, f.name, store_photo(store, data, photo)):
                result.imported += 1
            else:
                result.already += 1
            session.flush()
    return result
