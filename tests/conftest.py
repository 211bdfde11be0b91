"""Shared fixtures: real PostgreSQL and Redis (failing, never skipping, when unreachable), a
migrated store per test on SQLite and PostgreSQL, and settings from the environment."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from markwatch.settings import get_settings

PG_ADMIN_URL = os.environ.get(
    "MARKWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MARKWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_counter = itertools.count()
_RUN = uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts from default settings with its own data directory."""
    for key in list(os.environ):
        if key.startswith("MARKWATCH_") and not key.startswith("MARKWATCH_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MARKWATCH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MARKWATCH_ENV", "test")
    # Several test runs may share the machine's Redis: each test's queues get keys of their own.
    monkeypatch.setenv("MARKWATCH_BROKER_KEY_PREFIX", f"mwtest-{uuid.uuid4().hex[:12]}:")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _admin_engine() -> sa.Engine:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as exc:  # the tests need it: fail, never skip
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    return engine


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that per-test databases are copied from."""
    from db.migrate import upgrade

    admin = _admin_engine()
    name = f"mw_tpl_{_RUN}"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_pg_database(template: str | None) -> tuple[str, str]:
    admin = _admin_engine()
    name = f"mw_{_RUN}_{next(_counter)}"
    with admin.connect() as c:
        tpl = f' TEMPLATE "{template}"' if template else ""
        c.execute(sa.text(f'CREATE DATABASE "{name}"{tpl}'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name, url = new_pg_database(pg_template)
    yield url
    from db.session import engine_for

    engine_for.cache_clear()
    drop_pg_database(name)


@pytest.fixture
def pg_empty_url() -> Iterator[str]:
    """A fresh PostgreSQL database with no tables."""
    name, url = new_pg_database(None)
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from db.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite store for one test."""
    path = tmp_path / "store.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sessions(store_url: str):
    from db.session import make_engine, session_factory

    engine = make_engine(store_url)
    yield session_factory(engine)
    engine.dispose()


def broker_key(name: str) -> str:
    """A broker key (queue name, "unacked") as this test's workers see it in Redis."""
    return os.environ["MARKWATCH_BROKER_KEY_PREFIX"] + name


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Real Redis (database 15). The test's keys carry its own prefix and are removed after it,
    so concurrent test runs on one Redis server do not see each other's messages."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}", pytrace=False)
    prefix = os.environ["MARKWATCH_BROKER_KEY_PREFIX"]
    yield REDIS_URL
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A real S3-compatible server (moto's server mode) in a process of its own."""
    from tests.objectstore import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def evidence_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                   tmp_path: Path):
    """The evidence store the settings name, as a directory and as an S3 bucket: the same
    evidence tests run on both. The settings are set, so processes the test starts use it too."""
    from markwatch.objectstore import evidence_store as configured

    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        for k, v in server.env(server.new_bucket()).items():
            monkeypatch.setenv(k, v)
    else:
        monkeypatch.setenv("MARKWATCH_EVIDENCE_DIR", str(tmp_path / "evidence"))
    get_settings.cache_clear()
    return configured()


REPO = Path(__file__).resolve().parent.parent
DEMO_REGISTRY = REPO / "fixtures" / "demo"
