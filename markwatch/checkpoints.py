"""Checkpoints: the alert history chains anchored outside the database.

The store alone cannot prove its own history: whoever can write to it can rewrite an event and
re-hash everything after it, head included, or put an alert back as it was a week ago. So every
``MARKWATCH_EVIDENCE_CHECKPOINT_INTERVAL`` seconds (beat), and on ``markwatch evidence
checkpoint``, the head and length of every alert's chain are sealed:

- the leaves ``alert id : length : head``, in alert order, are hashed into one Merkle root
  (RFC 6962 tree hashing: 0x00 before a leaf, 0x01 before two children), which also lets one
  alert's entry be proved to a third party without showing the others;
- the entry (sequence number, time, root, totals, the leaves that changed since the previous
  checkpoint, and the hash of the previous entry) is signed with an Ed25519 key kept outside the
  store (``MARKWATCH_EVIDENCE_SIGNING_KEY``, created on first use, readable by its owner only);
- and appended to the checkpoint log, which is only ever appended to (``CheckpointLog``; the
  file implementation is ``FileCheckpointLog``; an object store with write-once retention fits
  the same interface).

``verify_checkpoints`` replays the log: each signature, each link to the previous entry, each
root recomputed from the replayed leaves, no chain ever shorter than in the checkpoint before;
then each alert's sealed head must still be the hash of the event at its sealed position. A
newest event deleted, a middle one deleted, an event rewritten and re-hashed, an alert rolled
back: each is reported, with the checkpoint that caught it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from db.chain import chains
from db.models import Alert

Leaf = tuple[int, str | None]  # (length, head) of one alert's chain


# --- the Merkle tree -----------------------------------------------------------------------------


def leaf_bytes(alert_id: int, length: int, head: str | None) -> bytes:
    return f"{alert_id}:{length}:{head or ''}".encode("ascii")


def merkle_root(leaves: Sequence[bytes]) -> str:
    """RFC 6962's Merkle tree hash (hex) of the leaves, in order."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # an odd node is promoted, as in RFC 6962's split
        level = nxt
    return level[0].hex()


def state_root(state: dict[int, Leaf]) -> str:
    return merkle_root([leaf_bytes(aid, n, h) for aid, (n, h) in sorted(state.items())])


# --- the key ------------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key (PEM, PKCS#8). Created on first use with mode 0600, its public half
    beside it (``<path>.pub``) for whoever verifies without the private key."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    path.with_name(path.name + ".pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key file, or the public half of a private key file."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return load_or_create_key(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- the log ------------------------------------------------------------------------------------


class CheckpointLog(Protocol):
    """Where checkpoints go: appended to, never rewritten."""

    def lines(self) -> list[bytes]:
        """Every entry, oldest first."""

    def append(self, line: bytes) -> None:
        """Add one entry (no newline in it) durably."""

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Held while a checkpoint is computed and appended (one writer at a time)."""


class FileCheckpointLog:
    """One JSON entry per line in a local (or shared) file, opened for appending only and
    flushed to disk on every entry; a lock file keeps two writers from interleaving."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[bytes]:
        if not self.path.exists():
            return []
        return [ln for ln in self.path.read_bytes().split(b"\n") if ln.strip()]

    def append(self, line: bytes) -> None:
        if b"\n" in line:
            raise ValueError("a checkpoint entry is one line")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


# --- writing ------------------------------------------------------------------------------------


def _canonical(entry: dict[str, object]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _replay(lines: list[bytes]) -> tuple[dict[int, Leaf], int, str | None]:
    """The sealed state after the last entry, its sequence number and the last line's hash."""
    state: dict[int, Leaf] = {}
    seq = 0
    for line in lines:
        entry = json.loads(line)
        for aid, leaf in entry["changes"].items():
            state[int(aid)] = (int(leaf[0]), leaf[1])
        seq = int(entry["seq"])
    prev = hashlib.sha256(lines[-1]).hexdigest() if lines else None
    return state, seq, prev


@dataclass
class Written:
    seq: int
    root: str
    alerts: int
    events: int
    changed: int


def write_checkpoint(session: Session, log: CheckpointLog, key: Ed25519PrivateKey, *,
                     now: datetime | None = None) -> Written:
    """Seal the current head and length of every alert's chain into a signed log entry."""
    with log.exclusive():
        state, seq, prev = _replay(log.lines())
        current = {aid: (n, h) for aid, n, h in session.execute(
            sa.select(Alert.id, Alert.chain_length, Alert.chain_head))}
        changes = {aid: leaf for aid, leaf in current.items() if state.get(aid) != leaf}
        # an alert gone from the store keeps its sealed leaf: verification reports it
        state.update(changes)
        entry: dict[str, object] = {
            "seq": seq + 1,
            "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "alerts": len(state),
            "events": sum(n for n, _h in state.values()),
            "root": state_root(state),
            "prev": prev,
            "key": key_id(key.public_key()),
            "changes": {str(aid): [n, h] for aid, (n, h) in sorted(changes.items())},
        }
        entry["sig"] = base64.b64encode(key.sign(_canonical(entry))).decode("ascii")
        log.append(_canonical(entry))
    return Written(seq + 1, str(entry["root"]), len(state), int(str(entry["events"])),
                   len(changes))


# --- verifying ----------------------------------------------------------------------------------


@dataclass
class CheckpointReport:
    checkpoints: int = 0
    alerts_sealed: int = 0
    problems: list[str] = field(default_factory=list)


def verify_checkpoints(session: Session, log: CheckpointLog,
                       public: Ed25519PublicKey) -> CheckpointReport:
    report = CheckpointReport()
    state: dict[int, Leaf] = {}
    sealed_in: dict[int, int] = {}  # alert id -> checkpoint that last sealed it
    prev: str | None = None
    want_key = key_id(public)
    for n, line in enumerate(log.lines(), 1):
        where = f"checkpoint {n}"
        try:
            entry = json.loads(line)
            sig = base64.b64decode(entry.pop("sig"))
            changes = {int(a): (int(v[0]), v[1]) for a, v in entry["changes"].items()}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            report.problems.append(f"{where}: unreadable entry ({type(exc).__name__}); the log "
                                   "was edited")
            prev = hashlib.sha256(line).hexdigest()
            continue
        report.checkpoints += 1
        if entry.get("key") != want_key:
            report.problems.append(f"{where}: signed with key {entry.get('key')}, not with "
                                   f"{want_key}")
        try:
            public.verify(sig, _canonical(entry))
        except InvalidSignature:
            report.problems.append(f"{where}: signature does not match (the entry was changed)")
        if entry.get("seq") != n or entry.get("prev") != prev:
            report.problems.append(f"{where}: does not follow the entry before it (entries were "
                                   "removed, reordered or inserted)")
        for aid, (length, _head) in changes.items():
            before = state.get(aid)
            if before is not None and length < before[0]:
                report.problems.append(
                    f"alert {aid}: rolled back between checkpoint {sealed_in[aid]} "
                    f"({before[0]} events) and checkpoint {n} ({length} events)")
            state[aid] = (length, _head)
            sealed_in[aid] = n
        if state_root(state) != entry.get("root"):
            report.problems.append(f"{where}: the leaves do not hash to the signed Merkle root")
        prev = hashlib.sha256(line).hexdigest()
    report.alerts_sealed = len(state)
    if not state:
        return report
    seen: set[int] = set()
    for chain, _events in chains(session):
        sealed = state.get(chain.alert_id)
        if sealed is None:
            continue
        seen.add(chain.alert_id)
        length, head = sealed
        cp = sealed_in[chain.alert_id]
        have = len(chain.hashes)
        if have < length:
            report.problems.append(
                f"alert {chain.alert_id}: checkpoint {cp} sealed {length} events, the store has "
                f"{have} (events deleted, or the alert rolled back)")
        elif length and chain.hashes[length - 1] != head:
            report.problems.append(
                f"alert {chain.alert_id}: event #{length} is not the one checkpoint {cp} sealed "
                "(its history was rewritten or re-hashed)")
    for aid in sorted(set(state) - seen):
        report.problems.append(f"alert {aid}: sealed in checkpoint {sealed_in[aid]}, missing "
                               "from the store (deleted)")
    return report


def checkpoint_log() -> FileCheckpointLog:
    """The log the settings name (``MARKWATCH_EVIDENCE_CHECKPOINT_LOG``)."""
    from markwatch.settings import get_settings

    return FileCheckpointLog(get_settings().effective_checkpoint_log)


def signing_key() -> Ed25519PrivateKey:
    """The key the settings name (``MARKWATCH_EVIDENCE_SIGNING_KEY``), created on first use."""
    from markwatch.settings import get_settings

    return load_or_create_key(get_settings().effective_signing_key)
