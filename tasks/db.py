"""The store as the tasks see it: one engine per worker process."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from db.session import engine_for, session_factory
from markwatch.settings import get_settings


def sessions() -> sessionmaker[Session]:
    return session_factory(engine_for(get_settings().effective_database_url))
