"""The evidence store this installation's settings name (``MARKWATCH_EVIDENCE_URL``, the
``MARKWATCH_S3_*`` settings, or the evidence directory), one client per process."""

from __future__ import annotations

import functools

from markwatch.settings import Settings, get_settings
from storage import ObjectStore, open_store


def evidence_store(settings: Settings | None = None) -> ObjectStore:
    options = (settings or get_settings()).evidence_store_options()
    return _open(tuple(sorted(options.items())))


@functools.cache
def _open(options: tuple[tuple[str, str], ...]) -> ObjectStore:
    return open_store(**dict(options))
