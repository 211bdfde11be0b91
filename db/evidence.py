"""Evidence: WARC 1.1 copies of every capture, verification of every stored digest, retention.

The store keeps each capture compressed with its SHA-256 (``evidence_snapshot``); the same bytes
are also written as a WARC/1.1 ``response`` record — target URI, date, IP address, HTTP status
and headers, and SHA-256 block and payload digests — into one WARC file per crawl run, so a
capture can be handed to a third party in the archival format courts and archives use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from db.chain import verify_chain
from db.listings import decompress
from db.models import Alert, AlertStatus, EvidenceSnapshot
from db.session import rowcount

_REASONS = {200: "OK", 203: "Non-Authoritative Information", 301: "Moved Permanently",
            302: "Found", 404: "Not Found", 410: "Gone"}
# Hop-by-hop and transfer headers describe the transfer, not the captured body we store.
_SKIP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}


def sha256_label(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode("ascii")


@dataclass
class WarcLocation:
    file: str  # relative to the evidence directory
    offset: int
    record_id: str


class WarcSink:
    """Appends response records to ``<evidence_dir>/warc/<name>.warc.gz``."""

    def __init__(self, evidence_dir: Path, name: str):
        self.evidence_dir = evidence_dir
        self.relative = f"warc/{name}.warc.gz"
        path = evidence_dir / self.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")

    def write(
        self,
        *,
        url: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
        fetched_at: datetime,
        ip_address: str | None,
    ) -> WarcLocation:
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
        record = self._writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        self._fh.seek(0, os.SEEK_END)
        offset = self._fh.tell()
        self._writer.write_record(record)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return WarcLocation(self.relative, offset, record.rec_headers.get_header("WARC-Record-ID"))

    def close(self) -> None:
        self._fh.close()


def read_warc_record(evidence_dir: Path, snap: EvidenceSnapshot) -> tuple[dict[str, str], bytes,
                                                                         bool | None]:
    """The WARC headers, payload and digest check result of a snapshot's record."""
    if not snap.warc_file:
        raise ValueError("this capture has no WARC record")
    with open(evidence_dir / snap.warc_file, "rb") as fh:
        fh.seek(snap.warc_offset or 0)
        for record in ArchiveIterator(fh, check_digests=True):
            payload = record.content_stream().read()
            headers = dict(record.rec_headers.headers)
            passed = record.digest_checker.passed
            return headers, payload, passed
    raise ValueError("no record at that offset")


@dataclass
class VerifyReport:
    snapshots: int = 0
    warc_records: int = 0
    events_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _snapshots(session: Session, batch: int = 500) -> Iterator[EvidenceSnapshot]:
    last = 0
    while True:
        rows = session.scalars(
            sa.select(EvidenceSnapshot).where(EvidenceSnapshot.id > last)
            .order_by(EvidenceSnapshot.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify_evidence(session: Session, evidence_dir: Path) -> VerifyReport:
    """Re-check every snapshot's digest and size, its WARC record, and every alert's history."""
    report = VerifyReport()
    for snap in _snapshots(session):
        report.snapshots += 1
        where = f"snapshot {snap.id} ({snap.url})"
        try:
            body = decompress(snap)
        except Exception as exc:
            report.problems.append(f"{where}: stored body cannot be read: {exc}")
            continue
        if hashlib.sha256(body).hexdigest() != snap.sha256 or len(body) != snap.size:
            report.problems.append(f"{where}: stored body does not match its SHA-256")
        if snap.warc_file:
            try:
                headers, payload, passed = read_warc_record(evidence_dir, snap)
            except (OSError, ValueError, Exception) as exc:  # missing file, truncated gzip
                report.problems.append(f"{where}: WARC record unreadable: {exc}")
                continue
            report.warc_records += 1
            if passed is False:
                report.problems.append(f"{where}: WARC digests do not match the record")
            if headers.get("WARC-Target-URI") != snap.url:
                report.problems.append(f"{where}: WARC record is for another URL")
            if hashlib.sha256(payload).hexdigest() != snap.sha256:
                report.problems.append(f"{where}: WARC payload differs from the stored capture")
    report.events_checked = session.scalar(sa.text("select count(*) from alert_event")) or 0
    report.problems.extend(verify_chain(session))
    return report


def prune_evidence(session: Session, *, older_than: datetime) -> int:
    """Delete old captures that no alert points at and whose listing has no confirmed alert.

    The only deletion of evidence there is; it runs as a bulk statement because evidence rows
    refuse ORM deletes. Evidence of a confirmed alert is never deleted.
    """
    confirmed_listings = sa.select(Alert.listing_id).where(Alert.status == AlertStatus.CONFIRMED)
    referenced = sa.select(Alert.snapshot_id).where(Alert.snapshot_id.is_not(None))
    res = session.execute(
        sa.delete(EvidenceSnapshot)
        .where(EvidenceSnapshot.fetched_at < older_than)
        .where(EvidenceSnapshot.id.not_in(referenced))
        .where(EvidenceSnapshot.listing_id.not_in(confirmed_listings))
        .execution_options(synchronize_session=False)
    )
    return rowcount(res) or 0


def describe(report: VerifyReport) -> str:
    head = (f"checked {report.snapshots} snapshots, {report.warc_records} WARC records, "
            f"{report.events_checked} alert events")
    if report.ok:
        return head + ": all digests and the history chain hold"
    lines = [head + f": {len(report.problems)} problem(s)"]
    lines += [f"  - {p}" for p in report.problems[:200]]
    return "\n".join(lines)


