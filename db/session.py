"""Engines and sessions. The caller owns the transaction: helpers in ``db`` never commit.

``on_commit(session, fn)`` queues work (typically sending a Celery task) that runs only after the
session's transaction commits, and is dropped if it rolls back, so no task is ever sent for rows
that do not exist.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_ON_COMMIT = "markwatch_on_commit"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the crawler, the workers and the CLI read while one of them writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


#: execution option of an engine whose transactions only read (``read_only_engine``)
READ_ONLY = "markwatch_read_only"


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite's own transaction handling is off (see make_engine). A writing transaction takes
    # the write lock up front, so two writers queue on busy_timeout instead of failing with
    # "database is locked" when a reader tries to upgrade. A reading transaction takes no lock at
    # all (WAL: readers never wait for the writer, nor the writer for them); it is started with
    # query_only on, so a write in it fails at once instead of racing for the lock.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("PRAGMA query_only = 1")
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("PRAGMA query_only = 0")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kw: Any) -> sa.Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kw)
        sa.event.listen(engine, "connect", _sqlite_pragmas)

        @sa.event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    kw.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kw)


@functools.cache
def engine_for(url: str) -> sa.Engine:
    """One engine per URL per process."""
    return make_engine(url)


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_engine(engine: sa.Engine) -> sa.Engine:
    """The same engine (pool, events) for transactions that only read: on SQLite they take no
    write lock, so reads go on while one writer works; on PostgreSQL they are READ ONLY."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True}, postgresql_readonly=True)
    return engine.execution_options(**{READ_ONLY: True})


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (``Session.execute`` types its result loosely)."""
    return cast(sa.CursorResult[Any], result).rowcount


def on_commit(session: Session, fn: Callable[[], Any]) -> None:
    """Run ``fn`` after ``session`` commits; forget it if the session rolls back."""
    session.info.setdefault(_ON_COMMIT, []).append(fn)


@sa.event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    callbacks = session.info.pop(_ON_COMMIT, [])
    for fn in callbacks:
        fn()


@sa.event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session
