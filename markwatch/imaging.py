"""Photos: checking downloaded bytes, perceptual hashes and thumbnails (Pillow and imagehash).

Used wherever an image enters markwatch: the crawler's listing photos and the rights holders'
official product photos. The matcher never sees an image; it gets the hashes made here.

A photo is accepted only when Pillow recognises its format by its magic bytes among
``FORMATS``, it is at most ``MAX_BYTES`` long and its header declares at most ``MAX_PIXELS``
pixels (checked before any pixel is decoded; Pillow's own decompression-bomb guard is set to the
same bound as a second line). Anything else is a :class:`BadImage` whose ``reason`` is one word,
for a counted, logged skip.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import imagehash
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
THUMB_SIZE = 256

# Pillow refuses (DecompressionBombError) images over twice this and warns over it; the warning
# is turned into an error below, so nothing over MAX_PIXELS is ever decoded.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class BadImage(ValueError):
    """Bytes that are not an acceptable photo; ``reason`` is one word."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}{': ' + detail if detail else ''}")


@dataclass(frozen=True)
class PhotoHashes:
    """64-bit perceptual hashes, as 16 hex digits."""

    phash: str
    dhash: str


#: what an official photo is also hashed as, so a copy is found after the edits counterfeiters
#: make: mirrored, and cropped (``(left, top, right, bottom)`` shares of the side kept)
VARIANTS: dict[str, tuple[float, float, float, float] | None] = {
    "mirror": None,
    "crop centre 6%": (0.03, 0.03, 0.97, 0.97),
    "crop centre 12%": (0.06, 0.06, 0.94, 0.94),
    "crop top left": (0.0, 0.0, 0.93, 0.93),
    "crop top right": (0.07, 0.0, 1.0, 0.93),
    "crop bottom left": (0.0, 0.07, 0.93, 1.0),
    "crop bottom right": (0.07, 0.07, 1.0, 1.0),
}


@dataclass(frozen=True)
class Photo:
    format: str  # one of FORMATS
    width: int
    height: int
    hashes: PhotoHashes
    thumbnail: bytes  # JPEG, at most THUMB_SIZE on its longer side
    variants: dict[str, PhotoHashes]  # only when asked for (official photos)

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def suffix(self) -> str:
        return SUFFIX[self.format]


def _open(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise BadImage("too_large", f"{len(data)} bytes (at most {MAX_BYTES})")
    if not data:
        raise BadImage("empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise BadImage("not_an_image" if isinstance(exc, UnidentifiedImageError) else "too_many_pixels",
                       str(exc)[:200]) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage("broken", str(exc)[:200]) from None
    if img.width * img.height > MAX_PIXELS:
        raise BadImage("too_many_pixels", f"{img.width}x{img.height}")
    if img.width < 1 or img.height < 1:
        raise BadImage("broken", "no pixels")
    return img


def hashes_of(img: Image.Image) -> PhotoHashes:
    rgb = img.convert("RGB")
    return PhotoHashes(str(imagehash.phash(rgb)), str(imagehash.dhash(rgb)))


def variant_hashes(img: Image.Image) -> dict[str, PhotoHashes]:
    """The hashes of an official photo's edited forms (``VARIANTS``)."""
    rgb = img.convert("RGB")
    out = {}
    for name, box in VARIANTS.items():
        if box is None:
            edited = ImageOps.mirror(rgb)
        else:
            w, h = rgb.size
            edited = rgb.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w),
                               round(box[3] * h)))
        out[name] = hashes_of(edited)
    return out


def read_photo(data: bytes, *, variants: bool = False) -> Photo:
    """Check, decode and describe one photo; raises :class:`BadImage`. ``variants``: hash its
    edited forms too (an official photo)."""
    img = _open(data)
    fmt = img.format or ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # the first frame of an animation stands for it
            img = ImageOps.exif_transpose(img) or img
            hashes = hashes_of(img)
            edited = variant_hashes(img) if variants else {}
            thumb = img.convert("RGB")
            thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=82, optimize=True)
    except BadImage:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise BadImage("broken", str(exc)[:200]) from None
    return Photo(fmt, img.width, img.height, hashes, out.getvalue(), edited)


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
