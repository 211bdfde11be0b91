"""Object storage: content-addressed, write-once objects behind one small interface.

Evidence (a WARC record per capture) lives here, and so can listing images and thumbnails: any
bytes whose key is their own SHA-256. Two implementations: a local directory (the embedded
default) and any S3-compatible service (AWS S3, MinIO), chosen by URL::

    open_store("file:///srv/markwatch/evidence")
    open_store("s3://bucket/prefix", endpoint_url="http://minio:9000")

This package is a leaf: it imports nothing of markwatch's own.
"""

from __future__ import annotations

from storage.base import (
    ObjectConflict,
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    StoredObject,
    StoreError,
    content_key,
    key_digest,
)


def open_store(
    url: str,
    *,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str | None = None,
) -> ObjectStore:
    """The store a URL names: ``file:///path`` (or a bare path) or ``s3://bucket[/prefix]``.
    The S3 options are ignored for a local directory; empty credentials mean boto3's own chain
    (``AWS_*`` variables, config files, an instance role)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        from storage.local import LocalStore

        path = unquote(parts.path) if parts.scheme == "file" else url
        if not path:
            raise StoreError(f"no directory in evidence URL {url!r}")
        return LocalStore(path)
    if parts.scheme == "s3":
        from storage.s3 import S3Store

        if not parts.netloc:
            raise StoreError(f"no bucket in {url!r}: expected s3://bucket/prefix")
        return S3Store(
            parts.netloc,
            parts.path.strip("/"),
            endpoint_url=endpoint_url or None,
            access_key_id=access_key_id or None,
            secret_access_key=secret_access_key or None,
            region=region or None,
        )
    raise StoreError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")


__all__ = [
    "ObjectConflict",
    "ObjectInfo",
    "ObjectMissing",
    "ObjectStore",
    "StoreError",
    "StoredObject",
    "content_key",
    "key_digest",
    "open_store",
]
