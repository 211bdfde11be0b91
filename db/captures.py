"""Captures in the object store: one WARC/1.1 record per captured page, written once.

Each capture (the page a listing was read from) is written as a gzip-compressed WARC ``response``
record — target URI, date, IP address, HTTP status and headers, SHA-256 block and payload
digests — and stored as one content-addressed object (``warc/ab/<sha256>.warc.gz``, a valid WARC
file on its own) *before* its ``evidence_snapshot`` row is inserted, so a committed row always
points at stored bytes, whichever host wrote them. The row keeps the object's key and the
payload's SHA-256; the web app, ``evidence verify`` and notices read the page back through the
same store. Rows written before the object store existed keep their body in the database
(``compression = "zlib"``) or point into a WARC file appended per crawl run; both still read.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from db.models import EvidenceSnapshot
from storage import ObjectMissing, ObjectStore, StoreError, key_digest

WARC_KIND = "warc"
#: ``compression`` of a row whose page is the payload of its WARC record in the object store
IN_STORE = "warc"

_REASONS = {200: "OK", 203: "Non-Authoritative Information", 301: "Moved Permanently",
            302: "Found", 404: "Not Found", 410: "Gone"}
# Hop-by-hop and transfer headers describe the transfer, not the captured body we store.
_SKIP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}


class CaptureUnreadable(RuntimeError):
    """The stored page is missing, damaged or not the one the row describes."""


def sha256_label(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


@dataclass
class WarcLocation:
    file: str  # the object's key in the store
    offset: int
    record_id: str


def warc_record(*, url: str, status: int, headers: dict[str, str], body: bytes,
                fetched_at: datetime, ip_address: str | None) -> tuple[bytes, str]:
    """One gzip-compressed WARC/1.1 response record (a WARC file by itself) and its record id."""
    http_headers = StatusAndHeaders(
        f"{status} {_REASONS.get(status, 'Status')}",
        [(k, v) for k, v in headers.items() if k.lower() not in _SKIP_HEADERS]
        + [("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    http_headers.compute_headers_buffer()
    warc_headers = {
        "WARC-Date": fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "WARC-Block-Digest": sha256_label(http_headers.headers_buff + body),
        "WARC-Payload-Digest": sha256_label(body),
    }
    if ip_address:
        warc_headers["WARC-IP-Address"] = ip_address
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    record = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body),
        http_headers=http_headers, warc_headers_dict=warc_headers,
    )
    writer.write_record(record)
    return out.getvalue(), record.rec_headers.get_header("WARC-Record-ID")


class WarcArchive:
    """Writes each capture as its own WARC record object in ``store``."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def write(self, *, url: str, status: int, headers: dict[str, str], body: bytes,
              fetched_at: datetime, ip_address: str | None) -> WarcLocation:
        data, record_id = warc_record(url=url, status=status, headers=headers, body=body,
                                      fetched_at=fetched_at, ip_address=ip_address)
        stored = self.store.put(WARC_KIND, data, suffix=".warc.gz",
                                content_type="application/warc")
        return WarcLocation(stored.key, 0, record_id)


@dataclass
class WarcRead:
    headers: dict[str, str]
    payload: bytes
    digests_pass: bool | None
    object_problem: str | None  # the object's bytes do not match its content key


def read_warc_record(store: ObjectStore, snap: EvidenceSnapshot) -> WarcRead:
    """The WARC headers and payload of a snapshot's record, with its digest checks. A content-
    addressed object is read whole and checked against its key as well."""
    key = snap.warc_file or ""
    problem = None
    fh: BinaryIO
    if key_digest(key) is not None:
        data = store.get(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != key_digest(key):
            problem = f"object {key} does not match its key (SHA-256 {actual})"
        fh = io.BytesIO(data[snap.warc_offset or 0:])
    else:
        fh = store.open(key, snap.warc_offset or 0)
    try:
        for record in ArchiveIterator(fh, check_digests=True):
            payload = record.content_stream().read()
            return WarcRead(dict(record.rec_headers.headers), payload,
                            record.digest_checker.passed, problem)
    finally:
        fh.close()
    raise ValueError("no WARC record at that offset")


def capture_body(store: ObjectStore, snap: EvidenceSnapshot) -> bytes:
    """The captured page's bytes, checked against the row's SHA-256."""
    if snap.body is not None:
        from db.listings import decompress

        body = decompress(snap)
    elif snap.warc_file:
        try:
            body = read_warc_record(store, snap).payload
        except (StoreError, ValueError, OSError) as exc:
            raise CaptureUnreadable(f"snapshot {snap.id}: {exc}") from exc
    else:
        raise CaptureUnreadable(f"snapshot {snap.id}: no stored page")
    if hashlib.sha256(body).hexdigest() != snap.sha256:
        raise CaptureUnreadable(f"snapshot {snap.id}: stored page does not match its SHA-256")
    return body


def check_capture(store: ObjectStore, snap: EvidenceSnapshot) -> tuple[list[str], bool]:
    """Problems with one snapshot's stored page, and whether a WARC record was read."""
    from db.listings import decompress

    where = f"snapshot {snap.id} ({snap.url})"
    problems: list[str] = []
    if snap.body is not None:
        try:
            body = decompress(snap)
        except Exception as exc:
            return [f"{where}: stored body cannot be read: {exc}"], False
        if hashlib.sha256(body).hexdigest() != snap.sha256 or len(body) != snap.size:
            problems.append(f"{where}: stored body does not match its SHA-256")
    elif not snap.warc_file:
        return [f"{where}: no stored page (neither in the database nor in the object store)"], False
    if not snap.warc_file:
        return problems, False
    try:
        rec = read_warc_record(store, snap)
    except ObjectMissing:
        return [*problems, f"{where}: WARC record unreadable: {snap.warc_file} is missing from "
                f"{store.location}"], False
    except Exception as exc:  # unreachable store, truncated gzip, not a WARC record
        return [*problems, f"{where}: WARC record unreadable: {exc}"], False
    if rec.object_problem:
        problems.append(f"{where}: WARC {rec.object_problem}")
    if rec.digests_pass is False:
        problems.append(f"{where}: WARC digests do not match the record")
    if rec.headers.get("WARC-Target-URI") != snap.url:
        problems.append(f"{where}: WARC record is for another URL")
    if hashlib.sha256(rec.payload).hexdigest() != snap.sha256 or len(rec.payload) != snap.size:
        problems.append(f"{where}: WARC payload does not match its SHA-256 in the database")
    return problems, True


def _referenced(session: Session, keys: list[str]) -> set[str]:
    """The keys among ``keys`` a capture row points at: a page's snapshot or a listing photo."""
    from db.photos import ListingImage

    used = set(session.scalars(
        sa.select(EvidenceSnapshot.warc_file).where(EvidenceSnapshot.warc_file.in_(keys))
    ))
    used |= set(session.scalars(
        sa.select(ListingImage.warc_file).where(ListingImage.warc_file.in_(keys))
    ))
    return {k for k in used if k}


def delete_unreferenced(session: Session, store: ObjectStore, keys: Iterable[str]) -> int:
    """Delete the objects among ``keys`` that no snapshot row points at any more."""
    deleted = 0
    pending = sorted(set(keys))
    for i in range(0, len(pending), 500):
        batch = pending[i : i + 500]
        used = _referenced(session, batch)
        for key in batch:
            if key not in used and key_digest(key) is not None:
                store.delete(key)
                deleted += 1
    return deleted


def orphaned_objects(session: Session, store: ObjectStore, *, older_than: datetime) -> list[str]:
    """WARC objects no row points at, last written before ``older_than``: captures whose
    transaction rolled back after the object was stored (a worker killed at that moment)."""
    old = [o.key for o in store.list(WARC_KIND + "/") if o.modified < older_than]
    orphans = []
    for i in range(0, len(old), 500):
        batch = old[i : i + 500]
        used = _referenced(session, batch)
        orphans += [k for k in batch if k not in used]
    return orphans
