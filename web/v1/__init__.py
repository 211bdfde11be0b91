"""The versioned JSON API (``/api/v1``): the same operations and permissions as the pages.

Authenticate with ``Authorization: Bearer <token>``; a signed-in browser may call it too, sending
its CSRF token in ``X-CSRF-Token`` on state changes.
"""

from fastapi import APIRouter

from web.v1 import accounts, alerts, cases, insight, registry

router = APIRouter(prefix="/api/v1", tags=["api"])
for part in (accounts, alerts, cases, insight, registry):
    router.include_router(part.router)
