"""Migrations are production code: they build exactly the schema the models describe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.migrate import current, downgrade, upgrade
from db.models import Base
from db.session import make_engine


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgresql(pg_empty_url):
    upgrade(pg_empty_url)
    assert _diff(pg_empty_url) == []


@pytest.mark.postgres
def test_upgrade_downgrade_round_trip(pg_empty_url, tmp_path):
    for url in (pg_empty_url, f"sqlite:///{tmp_path / 'r.db'}"):
        upgrade(url)
        head = current(url)
        assert head is not None
        downgrade(url, "base")
        engine = make_engine(url)
        with engine.connect() as c:
            left = set(sa.inspect(c).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert left == set()
        upgrade(url)
        assert current(url) == head
