"""Evidence: WARC 1.1 copies of every capture, verification of every stored digest, retention.

The store keeps each capture's SHA-256 and size (``evidence_snapshot``); the bytes are a WARC/1.1
``response`` record — target URI, date, IP address, HTTP status and headers, and SHA-256 block
and payload digests — in the object store (``db.captures``), so a capture can be handed to a
third party in the archival format courts and archives use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.captures import (
    WarcArchive,
    WarcLocation,
    capture_body,
    check_capture,
    delete_unreferenced,
    orphaned_objects,
    read_warc_record,
    sha256_label,
)
from db.chain import verify_chain
from db.models import Alert, AlertStatus, EvidenceSnapshot
from db.session import on_commit, rowcount
from storage import ObjectStore, key_digest

__all__ = ["PruneReport", "VerifyReport", "WarcArchive", "WarcLocation", "capture_body",
           "describe", "prune_evidence", "read_warc_record", "sha256_label", "verify_evidence"]


@dataclass
class VerifyReport:
    snapshots: int = 0
    warc_records: int = 0
    photos: int = 0
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


def verify_evidence(session: Session, store: ObjectStore) -> VerifyReport:
    """Re-check every snapshot's stored page and WARC record in ``store`` against the SHA-256 the
    database keeps, and every alert's history."""
    report = VerifyReport()
    for snap in _snapshots(session):
        report.snapshots += 1
        problems, read = check_capture(store, snap)
        report.warc_records += int(read)
        report.problems.extend(problems)
    for problem in _check_photos(session, store, report):
        report.problems.append(problem)
    report.events_checked = session.scalar(sa.text("select count(*) from alert_event")) or 0
    report.problems.extend(verify_chain(session))
    return report


def _check_photos(session: Session, store: ObjectStore, report: VerifyReport) -> Iterator[str]:
    """Each captured listing photo: its object holds the bytes its SHA-256 names, and its WARC
    record is there and intact."""
    from db.photos import ListingImage

    last = 0
    while True:
        rows = session.scalars(sa.select(ListingImage).where(ListingImage.id > last)
                               .order_by(ListingImage.id).limit(500)).all()
        if not rows:
            return
        for im in rows:
            report.photos += 1
            where = f"listing photo {im.id} ({im.url})"
            problem = store.verify(im.object_key)
            if problem is None and (key_digest(im.object_key) != im.sha256):
                problem = f"{im.object_key} is not the object of SHA-256 {im.sha256}"
            if problem:
                yield f"{where}: {problem}"
            if im.warc_file:
                problem = store.verify(im.warc_file)
                if problem:
                    yield f"{where}: WARC record {problem}"
        last = rows[-1].id
        session.expunge_all()


@dataclass
class PruneReport:
    captures: int = 0  # evidence_snapshot rows deleted
    objects: int = 0  # their WARC objects, and orphaned ones, deleted from the store


def prune_evidence(session: Session, store: ObjectStore, *, older_than: datetime) -> PruneReport:
    """Delete old captures that no alert points at and whose listing has no confirmed alert,
    and objects no row points at (a capture whose transaction rolled back after its object was
    written) written before ``older_than``. The deleted rows' objects are deleted once the
    caller's transaction commits (``report.objects`` counts them then).

    The only deletion of evidence there is; it runs as a bulk statement because evidence rows
    refuse ORM deletes. Evidence of a confirmed alert is never deleted. Objects go after the rows
    are committed: a failure leaves objects without rows, which the next prune removes, never
    rows without objects.
    """
    # orphans first, while this transaction has deleted nothing yet
    orphans = delete_unreferenced(
        session, store, orphaned_objects(session, store, older_than=older_than)
    )
    confirmed_listings = sa.select(Alert.listing_id).where(Alert.status == AlertStatus.CONFIRMED)
    referenced = sa.select(Alert.snapshot_id).where(Alert.snapshot_id.is_not(None))
    doomed = (
        sa.select(EvidenceSnapshot.id)
        .where(EvidenceSnapshot.fetched_at < older_than)
        .where(EvidenceSnapshot.id.not_in(referenced))
        .where(EvidenceSnapshot.listing_id.not_in(confirmed_listings))
    )
    keys = [k for k in session.scalars(
        sa.select(EvidenceSnapshot.warc_file).where(EvidenceSnapshot.id.in_(doomed))
    ) if k]
    res = session.execute(
        sa.delete(EvidenceSnapshot)
        .where(EvidenceSnapshot.id.in_(doomed.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    report = PruneReport(captures=rowcount(res) or 0, objects=orphans)
    bind = session.get_bind()

    def delete_objects() -> None:
        with Session(bind) as s:  # the committed session itself cannot run SQL here
            report.objects += delete_unreferenced(s, store, keys)

    on_commit(session, delete_objects)
    return report


def describe(report: VerifyReport) -> str:
    head = (f"checked {report.snapshots} snapshots, {report.warc_records} WARC records, "
            f"{report.photos} listing photos, {report.events_checked} alert events")
    if report.ok:
        return head + ": all digests and the history chain hold"
    lines = [head + f": {len(report.problems)} problem(s)"]
    lines += [f"  - {p}" for p in report.problems[:200]]
    return "\n".join(lines)


