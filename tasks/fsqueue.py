"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu's own transport writes a message straight into the queue folder under its final name and
a reader takes whatever the folder lists. A worker that lists the folder between the sender's
``open()`` and ``write()`` takes an empty file and dies on it (``JSONDecodeError``; the demo's
worker did so on a loaded machine). And its reader moves each message to the system's
temporary folder: on another filesystem that move is a copy, which two workers can make of
the same message at once.

Here a message is written under a name no reader takes (a dot file), then renamed into place
(a rename within one folder is atomic); a reader claims a message by renaming it into the
``processed`` folder beside the queue (same filesystem: one reader wins, the others move on);
and a message that still cannot be read (left by an older version or a disk fault) is kept in
a ``corrupt`` folder beside the queue and logged, never raised into the worker.

kombu offers no hook for either step, so ``_put`` and ``_get`` are written out here; the rest
(exchanges, bindings, purge, size) is kombu's.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

#: the scheme the embedded broker's URL names (``filesystem://``) is served by this transport
SCHEME = "filesystem"


class Channel(filesystem.Channel):
    # (kombu's two base classes name the second argument differently: payload and message)
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # zero-padded, so that the folder's sorted order is the order of sending
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        part = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(part, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(part, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        claimed_dir = Path(self.processed_folder)
        claimed_dir.mkdir(parents=True, exist_ok=True)
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.startswith(".") or filename.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / filename
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except OSError:
                continue  # another reader took it
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError as exc:
                kept = self._keep_corrupt(claimed)
                log.error("unreadable message %s (%d bytes) kept as %s: %s", filename,
                          len(payload), kept, exc)
                continue
            if not self.store_processed:
                claimed.unlink(missing_ok=True)
            return message
        raise Empty()

    def _keep_corrupt(self, path: Path) -> Path:
        folder = Path(self.data_folder_in).parent / "corrupt"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        os.replace(path, target)
        return target


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    """Serve ``filesystem://`` broker URLs with this transport in this process."""
    TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
