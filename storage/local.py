"""A local directory as the object store: the embedded default, and a shared mount if you must.

Writes go to a temporary file in the target directory, are flushed to disk, then hard-linked to
their key: ``link`` fails when the name exists, so two writers racing on one key cannot
overwrite each other, and a reader never sees half an object. Stored files are made read-only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import ObjectInfo, ObjectMissing, ObjectStore, StoreError, check_key


class LocalStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        self.location = f"file://{self.root}"

    def init(self) -> bool:
        created = not self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        return created

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _put_once(self, key: str, data: bytes, content_type: str) -> bool:
        target = self.path(key)
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except OSError as exc:
            raise StoreError(f"{self.location}: cannot write {key}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            except OSError as exc:
                raise StoreError(f"{self.location}: cannot write {key}: {exc}") from exc
            _fsync_dir(target.parent)
            return True
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def open(self, key: str, offset: int = 0) -> BinaryIO:
        try:
            fh = open(self.path(key), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise ObjectMissing(f"{key}: missing from {self.location}") from None
        except OSError as exc:
            raise StoreError(f"{self.location}: cannot read {key}: {exc}") from exc
        if offset:
            fh.seek(offset)
        return fh

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectMissing(f"{key}: missing from {self.location}") from None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith(".incoming-"):
                    continue
                p = Path(dirpath) / name
                key = p.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = p.stat()
                    yield ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
