"""Fixtures for the delivery fault tests: a store full of listings that each make one alert, a
Redis server of the test's own (so it can be killed and restarted), workers with kill hooks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from db.listings import ListingFields, upsert_listing
from db.models import Alert, AlertEvent, Marketplace
from db.registry import load_directory
from db.session import make_engine, session_factory, transaction
from markwatch.processes import Child, child_env, worker_argv
from markwatch.settings import get_settings
from tests.conftest import DEMO_REGISTRY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process with its append-only file on, that a test may kill and restart."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


class Pipeline:
    """The store (PostgreSQL), the broker URL and the settings the workers are started with."""

    def __init__(self, pg_url: str, broker_url: str, tmp_path: Path, **extra: str):
        self.tmp_path = tmp_path
        self.env = {
            "MARKWATCH_DATABASE_URL": pg_url,
            "MARKWATCH_BROKER_URL": broker_url,
            "MARKWATCH_DATA_DIR": str(tmp_path / "var"),
            "MARKWATCH_ENV": "test",
            **extra,
        }
        for k, v in self.env.items():
            os.environ[k] = v
        get_settings.cache_clear()
        from tasks.app import make_celery

        self.app = make_celery(get_settings())
        self.engine = make_engine(pg_url)
        self.sessions = session_factory(self.engine)
        self.workers: list[Child] = []

    def seed(self, n: int) -> list[int]:
        """``n`` listings, each of which infringes exactly one mark (VOLTARIS)."""
        with transaction(self.sessions) as s:
            load_directory(s, DEMO_REGISTRY)
            shop = s.scalar(sa.select(Marketplace.id).filter_by(code="shopb"))
            ids = []
            for i in range(n):
                f = ListingFields(
                    external_id=f"F{i:05d}", url=f"http://127.0.0.1:8302/p/F{i:05d}",
                    title=f"VOLTARIS PowerCell 20000 replica power bank lot {i}",
                    seller=f"bulk-seller-{i % 37}", category="Chargers & Power Banks",
                    price=Decimal("9.90"), currency="USD", condition="new",
                )
                ids.append(upsert_listing(s, shop, f, seen_at=datetime.now(UTC),
                                          crawl_run_id=None).listing_id)
        return ids

    def start_worker(self, name: str, *, concurrency: int = 2, **env: str) -> Child:
        argv = worker_argv(concurrency=concurrency, name=name, loglevel="INFO")
        argv += ["--include", "tests.reliability.hooks"]
        w = Child(name, argv, env=child_env(**self.env, **env),
                  log_path=self.tmp_path / f"{name}-{len(self.workers)}.log").start()
        self.workers.append(w)
        return w

    def counts(self) -> tuple[int, int]:
        with self.sessions() as s:
            alerts = s.scalar(sa.select(sa.func.count()).select_from(Alert))
            created = s.scalar(
                sa.select(sa.func.count()).select_from(AlertEvent)
                .where(AlertEvent.action == "created")
            )
        return alerts, created

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.engine.dispose()
        for k in self.env:
            os.environ.pop(k, None)
        get_settings.cache_clear()


def pool_children(pid: int) -> list[int]:
    """The prefork pool processes of a worker (its direct children)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out
