"""Fixtures for the web tests: filled stores, an in-process client per role, and one real
server process (uvicorn on a free loopback port) shared by the browser and schemathesis tests."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.factory import PASSWORD, Filled, fill


def sync_dispatch(url: str):
    """Send notices synchronously after commit (the test sees the outcome at once)."""
    from db.session import make_engine, session_factory
    from tasks.enforcement import deliver_notice

    factory = session_factory(make_engine(url))
    return lambda notice_id: deliver_notice(factory, notice_id)


def make_client(url: str, monkeypatch: pytest.MonkeyPatch):
    from fastapi.testclient import TestClient

    from markwatch.settings import get_settings
    from web.app import create_app

    monkeypatch.setenv("MARKWATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    return TestClient(create_app(dispatch=sync_dispatch(url)), follow_redirects=False)


def login(client, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text[:500]
    r = client.get("/tokens")
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def api_token(url: str, email: str) -> str:
    import sqlalchemy as sa

    from db.accounts import create_token
    from db.models import User
    from db.session import make_engine, session_factory, transaction

    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        raw, _ = create_token(s, user, "tests")
    engine.dispose()
    return raw


@pytest.fixture
def filled(store_url: str) -> Filled:
    return fill(store_url)


@pytest.fixture
def filled_sqlite(sqlite_url: str) -> Filled:
    return fill(sqlite_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, base: str, proc: subprocess.Popen, filled: Filled, log: Path):
        self.url, self.base, self.proc, self.filled, self.log = url, base, proc, filled, log


@contextlib.contextmanager
def serving_app(url: str, root: Path, filled: Filled, **env_extra: str) -> Iterator[LiveServer]:
    """``markwatch serve`` on ``url`` in a process of its own, on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKWATCH_")}
    env.update(MARKWATCH_DATABASE_URL=url, MARKWATCH_DATA_DIR=str(root / "var"),
               MARKWATCH_ENV="test", MARKWATCH_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               **env_extra)
    log = root / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "markwatch.cli", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the web app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield LiveServer(url, base, proc, filled, log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The web app as `markwatch serve` runs it, on a filled SQLite store of its own."""
    from db.migrate import upgrade

    root = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{root / 'store.db'}"
    upgrade(url)
    with serving_app(url, root, fill(url)) as server:
        yield server


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """One Chromium (Debian's) for every browser test."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (make install-test installs Debian's)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def alerts_on(filled: Filled, code: str, slug: str = "kestrel-outdoor") -> list[int]:
    """The filled alerts of ``slug`` on marketplace ``code`` (none with a hostile payload), in
    the order they were made."""
    import sqlalchemy as sa

    from db.models import Alert, Listing, Marketplace
    from db.session import make_engine, session_factory

    engine = make_engine(filled.url)
    with session_factory(engine)() as s:
        on = set(s.scalars(sa.select(Alert.id).join(Listing, Listing.id == Alert.listing_id)
                           .join(Marketplace, Marketplace.id == Listing.marketplace_id)
                           .where(Marketplace.code == code)))
    engine.dispose()
    return [a for a in filled.alerts[slug] if a in on and a not in filled.xss_alerts]
