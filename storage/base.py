"""The object store interface: content-addressed keys, write-once puts, streamed reads.

A key is ``<kind>/<first two hex digits>/<sha256 hex><suffix>``: the SHA-256 of the exact bytes
stored, so an object names its own content, two workers that store the same bytes store one
object, and anyone can check an object against its key without the database. Kinds in use:
``warc`` (one WARC/1.1 record per capture or listing photo), ``image`` (listing and official
product photos) and ``thumb`` (their thumbnails).
Nothing overwrites an object; only retention (``evidence prune``) deletes one.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SUFFIX = re.compile(r"^(\.[A-Za-z0-9]{1,10}){0,3}$")
_KEY = re.compile(r"^([a-z][a-z0-9-]{0,31})/([0-9a-f]{2})/([0-9a-f]{64})((?:\.[A-Za-z0-9]{1,10}){0,3})$")


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, refused, misconfigured)."""


class ObjectMissing(StoreError):
    """No object under that key."""


class ObjectConflict(StoreError):
    """An object already under a content key does not hold the content the key names."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    created: bool  # False: the same bytes were already stored (by this or another worker)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


def content_key(kind: str, data: bytes, suffix: str = "") -> str:
    if not _KIND.match(kind):
        raise ValueError(f"bad object kind {kind!r}")
    if not _SUFFIX.match(suffix):
        raise ValueError(f"bad object suffix {suffix!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{kind}/{digest[:2]}/{digest}{suffix}"


def key_digest(key: str) -> str | None:
    """The SHA-256 a content key names, or None for a key that is not content-addressed
    (WARC files appended per crawl run before the store existed)."""
    m = _KEY.match(key)
    return m.group(3) if m and m.group(2) == m.group(3)[:2] else None


def check_key(key: str) -> str:
    """Refuse keys that could leave the store's root or prefix."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"bad object key {key!r}")
    return key


class ObjectStore(ABC):
    """Write-once, content-addressed objects. Implementations are safe to share between threads
    and to use from several processes and hosts at once."""

    #: where the objects are, for messages (never carries credentials)
    location: str

    def put(self, kind: str, data: bytes, *, suffix: str = "",
            content_type: str = "application/octet-stream") -> StoredObject:
        """Store ``data`` under its content key unless an object is already there. An existing
        object of another size under that key raises ObjectConflict (it is corrupt)."""
        key = content_key(kind, data, suffix)
        created = self._put_once(key, data, content_type)
        if not created:
            size = self.size(key)
            if size != len(data):
                raise ObjectConflict(
                    f"{self.location}: {key} holds {size} bytes, its content has {len(data)}"
                )
        return StoredObject(key, len(data), created)

    def get(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def verify(self, key: str) -> str | None:
        """Re-read a content-addressed object and compare it with its key: None when it holds,
        else what is wrong."""
        digest = key_digest(key)
        if digest is None:
            return None
        h = hashlib.sha256()
        try:
            with self.open(key) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except ObjectMissing:
            return f"{key}: missing from {self.location}"
        if h.hexdigest() != digest:
            return f"{key}: content does not match its key (SHA-256 {h.hexdigest()})"
        return None

    @abstractmethod
    def _put_once(self, key: str, data: bytes, content_type: str) -> bool:
        """Write unless the key exists, atomically where the service allows; True if written."""

    @abstractmethod
    def open(self, key: str, offset: int = 0) -> BinaryIO:
        """A stream of the object's bytes from ``offset``; ObjectMissing if there is none."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The object's size; ObjectMissing if there is none."""

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectMissing:
            return False
        return True

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (retention only); no error if it is already gone."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""

    def init(self) -> bool:
        """Create the directory or bucket if it is missing; True if it was created."""
        return False

    def check(self) -> None:
        """Raise StoreError unless the store is reachable and writable."""
        self.put("check", b"markwatch object store check\n", suffix=".txt")
