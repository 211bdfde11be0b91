"""Listing photos served from the evidence store: the review pages never load an image from a
marketplace host (the page CSP allows images from this app only), so looking at an alert tells
the infringer nothing, and the photos are still there after the listing is gone."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from db.photos import alert_image
from storage import StoreError
from web.app import SANDBOX_CSP
from web.core import MAX_ID, Reader

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/alerts/{alert_id}/photos/{image_id}")
def photo(request: Request, ctx: Reader, alert_id: Id, image_id: Id,
          size: Annotated[Literal["thumb", "full"], Query()] = "thumb") -> Response:
    """A captured photo of the alert's listing (``full``: the bytes as fetched, checked against
    their SHA-256) or its thumbnail."""
    row = alert_image(ctx.scope, alert_id, image_id)
    store = request.app.state.evidence
    key = row.thumb_key if size == "thumb" else row.object_key
    try:
        data = store.get(key)
    except StoreError as exc:
        log.error("alert %s photo %s: %s", alert_id, image_id, exc)
        raise HTTPException(502, "the photo cannot be read from the evidence store") from None
    if size == "full" and hashlib.sha256(data).hexdigest() != row.sha256:
        log.error("alert %s photo %s: stored bytes do not match their SHA-256", alert_id, image_id)
        raise HTTPException(502, "the stored photo does not match its SHA-256")
    return Response(data, media_type="image/jpeg" if size == "thumb" else row.content_type,
                    headers={"Content-Security-Policy": SANDBOX_CSP,
                             "Cross-Origin-Resource-Policy": "same-origin",
                             "Cache-Control": "private, max-age=86400"})
