"""The embedded broker (tasks/fsqueue.py) on a real kombu connection: a reader never takes a
message that is still being written, and an unreadable message is kept aside, not raised into
the worker."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from tasks import fsqueue

fsqueue.register()


def _connection(root: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return Connection("filesystem://localhost//", transport_options={
        "data_folder_in": str(root / "queue"), "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"), "control_folder": str(root / "control"),
        "store_processed": False,
    })


def test_the_filesystem_scheme_is_served_by_ours(tmp_path) -> None:
    with _connection(tmp_path) as conn:
        assert isinstance(conn.default_channel, fsqueue.Channel)


def test_an_unreadable_message_is_kept_aside_and_the_next_one_delivered(tmp_path) -> None:
    q = Queue("work", Exchange("work"), "work")
    with _connection(tmp_path) as conn:
        producer = conn.Producer()
        # what kombu's own writer left when a reader listed the folder between open and write
        (tmp_path / "queue" / "000000000000000_empty.work.msg").write_bytes(b"")
        producer.publish({"n": 1}, exchange=q.exchange, routing_key="work", declare=[q])
        got = []
        with conn.Consumer(q, callbacks=[lambda body, m: (got.append(body), m.ack())]):
            conn.drain_events(timeout=5)
    assert got == [{"n": 1}]
    assert (tmp_path / "corrupt" / "000000000000000_empty.work.msg").exists()  # kept, not lost
    assert not list((tmp_path / "queue").iterdir())


def test_a_reader_never_sees_a_message_half_written(tmp_path) -> None:
    """A reader that lists and reads the queue folder while messages are written finds only
    whole ones (kombu's own writer exposes each file under its final name before writing)."""
    queue_dir = tmp_path / "queue"
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        stop = threading.Event()
        bad: list[str] = []
        seen: set[str] = set()

        def reader() -> None:
            import json

            while not stop.is_set():
                for p in queue_dir.glob("*.msg"):
                    try:
                        json.loads(p.read_bytes())
                        seen.add(p.name)
                    except FileNotFoundError:
                        pass
                    except ValueError:
                        bad.append(p.name)

        t = threading.Thread(target=reader)
        t.start()
        try:
            for i in range(60):
                channel._put("work", {"n": i, "pad": "x" * 2_000_000})
        finally:
            stop.set()
            t.join(30)
    assert not bad, f"{len(bad)} messages read half-written"
    assert seen and len(list(queue_dir.glob("*.msg"))) == 60
    assert not list(queue_dir.glob(".*"))  # no part file left behind


@pytest.mark.parametrize("n", [40])
def test_two_readers_take_each_message_once(tmp_path, n) -> None:
    with _connection(tmp_path) as a, _connection(tmp_path) as b:
        for i in range(n):
            a.default_channel._put("work", {"n": i})
        taken: list[int] = []
        lock = threading.Lock()

        def drain(conn: Connection) -> None:
            from queue import Empty

            while True:
                try:
                    body = conn.default_channel._get("work")
                except Empty:
                    return
                with lock:
                    taken.append(body["n"])

        threads = [threading.Thread(target=drain, args=(c,)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(taken) == list(range(n))
