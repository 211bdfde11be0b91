"""Sign-in throttling: failed sign-ins counted per account (the e-mail address, whether or not it
exists, so the answer says nothing about that) and per client address, with exponential backoff.

The first ``free`` failures of a key cost nothing; each later one locks the key for
``base * 2 ** (failures - free)`` seconds, capped at ``cap``. While a key is locked, a sign-in
is refused before its password is even checked, so the right password guessed during a lock is
refused too, and a refused attempt does not lengthen the lock (a third party cannot keep an
account locked for longer than the backoff of the failures already made). A success clears the
account's count; failures are forgotten ``window`` seconds after the last one.

Counts live in the store (``login_throttle``), so every web process sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.models import Base
from db.types import UTCDateTime


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)  # account:… or address:…
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Policy:
    free: int  # failures before the first lock
    base: float  # seconds of the first lock, doubled by each further failure
    cap: float  # longest lock, seconds
    window: float = 3600.0  # failures older than this (since the last one) are forgotten

    def lock_seconds(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.base * 2 ** min(failures - self.free - 1, 40), self.cap)


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()[:254]


def address_key(address: str) -> str:
    return "address:" + address[:100]


def locked_for(session: Session, keys: dict[str, Policy], *, now: datetime) -> float:
    """Seconds until every key may try again (0: now)."""
    rows = session.execute(
        sa.select(LoginThrottle.key, LoginThrottle.locked_until)
        .where(LoginThrottle.key.in_(list(keys)))
    ).all()
    waits = [(until - now).total_seconds() for _k, until in rows if until is not None]
    return max([0.0, *waits])


def _upsert(session: Session) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.Insert if session.get_bind().dialect.name == "postgresql" else sqlite.Insert


def record_failure(session: Session, keys: dict[str, Policy], *, now: datetime) -> float:
    """Count one failed sign-in against every key; returns the longest lock it started."""
    insert = _upsert(session)
    longest = 0.0
    for key, policy in keys.items():
        forget_before = now - timedelta(seconds=policy.window)
        stmt = insert(LoginThrottle).values(key=key, failures=1, last_failed_at=now)
        failures = session.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={
                    "failures": sa.case(
                        (LoginThrottle.last_failed_at < forget_before, 1),
                        else_=LoginThrottle.failures + 1,
                    ),
                    "last_failed_at": now,
                },
            ).returning(LoginThrottle.failures)
        ).scalar_one()
        seconds = policy.lock_seconds(failures)
        if seconds:
            session.execute(sa.update(LoginThrottle).where(LoginThrottle.key == key)
                            .values(locked_until=now + timedelta(seconds=seconds)))
            longest = max(longest, seconds)
    return longest


def record_success(session: Session, key: str) -> None:
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == key))
