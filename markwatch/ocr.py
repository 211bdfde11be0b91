"""Text in listing photos, read by Tesseract (Debian's ``tesseract-ocr`` with the English and
Simplified Chinese data, called through pytesseract), bounded in time per photo.

Tesseract's page layout analysis is made for documents: on a product shot, large blocks of
colour hide the text from it (a plainly printed "KESTREL" label over a coloured product reads as
nothing). So the photo is read in overlapping horizontal bands (``BAND`` high, every ``STEP``
pixels, scaled to a width of ``WIDTH``), each given a white border and read as one block of text
(``--psm 6``), and the bands' text is joined. It costs one Tesseract run per band. Spaces Tesseract puts between Chinese characters are taken out, so that
``墨 朗`` reads as the ``墨朗`` the matcher knows. What is read is kept per photo content
(``image_text``), so a photo shown by many listings is read once.
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass

from PIL import Image, ImageOps

from markwatch.imaging import BadImage, read_photo

log = logging.getLogger(__name__)

ENGINE = "tesseract"
_HAN_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])[ \t]+(?=[\u3400-\u9fff\uf900-\ufaff])")
MAX_TEXT = 2000
WIDTH = 320
BAND = 110
STEP = 70


@dataclass(frozen=True)
class ImageText:
    text: str
    status: str  # "ok", "timeout", "unreadable" (not a photo), "error"
    seconds: float
    engine: str = ENGINE


_EDGE_NOISE = " |_-—–=~»«©®@'\"`.,:;!¦/\\()[]{}<>*+"


def tidy(text: str) -> str:
    """One line per line read, no spaces between Chinese characters; the specks Tesseract reads
    in shapes (lines without two letters or digits, stray bars at the ends) left out."""
    out = []
    for ln in text.splitlines():
        ln = " ".join(_HAN_GAP.sub("", ln).split()).strip(_EDGE_NOISE)
        if sum(ch.isalnum() for ch in ln) >= 2:
            out.append(ln)
    return "\n".join(out)[:MAX_TEXT]


def engine_version() -> str:
    import pytesseract

    return f"{ENGINE} {pytesseract.get_tesseract_version()}"


def read_text(data: bytes, *, languages: str = "eng+chi_sim", timeout: float = 5.0) -> ImageText:
    """The text in one photo. Never raises for a bad photo or a slow read: the status says."""
    import pytesseract

    started = time.monotonic()
    try:
        read_photo(data)  # the same checks as at capture: type by magic bytes, pixel count
        opened = Image.open(io.BytesIO(data))
        opened.seek(0)
        img = opened.convert("RGB")
        if img.width != WIDTH:
            img = img.resize((WIDTH, max(1, round(img.height * WIDTH / img.width))),
                             Image.Resampling.LANCZOS)
        parts = []
        for top in range(0, max(1, img.height - BAND + STEP), STEP):
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise RuntimeError("Tesseract process timeout")
            band = ImageOps.expand(img.crop((0, top, img.width, min(img.height, top + BAND))),
                                   border=16, fill=(255, 255, 255))
            parts.append(pytesseract.image_to_string(band, lang=languages, config="--psm 6",
                                                     timeout=left))
        raw = "\n".join(parts)
    except BadImage:
        return ImageText("", "unreadable", time.monotonic() - started)
    except RuntimeError as exc:  # pytesseract's timeout
        status = "timeout" if "timeout" in str(exc).lower() else "error"
        return ImageText("", status, time.monotonic() - started)
    except (pytesseract.TesseractError, OSError) as exc:
        log.warning("text could not be read from a photo: %s", exc)
        return ImageText("", "error", time.monotonic() - started)
    return ImageText(tidy(raw), "ok", time.monotonic() - started)
