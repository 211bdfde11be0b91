"""People: users, sign-in sessions and API tokens."""


import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.enforcement import (
    ApiToken,
    WebSession,
)
from db.models import (
    RightsHolder,
    Role,
    User,
)
from db.session import rowcount
from db.tenancy import Refused, Scope
from db.types import utcnow

SESSION_DAYS = 7


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_users(session: Session, email: str) -> list[User]:
    """Every account of this address, one per rights holder at most."""
    return list(session.scalars(
        sa.select(User).where(User.email == normalise_email(email)).order_by(User.id)))


def find_user(session: Session, email: str, rights_holder_id: int) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normalise_email(email),
                                                User.rights_holder_id == rights_holder_id))


def create_user(session: Session, *, rights_holder_id: int, email: str, name: str, role: str,
                password_hash: str) -> User:
    """An account at this rights holder. Refused only when this rights holder already has one
    for the address: whether other rights holders know the address is never looked at, so the
    answer tells an admin nothing about them."""
    if find_user(session, email, rights_holder_id) is not None:
        raise Refused("a user with this e-mail exists")
    user = User(rights_holder_id=rights_holder_id, email=normalise_email(email), name=name,
                role=Role(role), password_hash=password_hash, active=True)
    session.add(user)
    session.flush()
    return user


def start_session(session: Session, user: User, *, now: datetime | None = None) -> tuple[str, WebSession]:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    ws = WebSession(token_hash=token_digest(token), user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32), expires_at=now + timedelta(days=SESSION_DAYS))
    session.add(ws)
    session.flush()
    return token, ws


def session_user(session: Session, token: str, *, now: datetime | None = None) -> tuple[WebSession, User] | None:
    now = now or utcnow()
    row = session.execute(
        sa.select(WebSession, User).join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    ws, user = row
    if ws.expires_at <= now or not user.active:
        return None
    return ws, user


def set_password(session: Session, user: User, password_hash: str, *,
                 keep_session: str | None = None) -> int:
    """A new password: every session of the user ends but ``keep_session`` (the one changing
    it); returns how many ended."""
    user.password_hash = password_hash
    q = sa.delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session is not None:
        q = q.where(WebSession.token_hash != token_digest(keep_session))
    ended = rowcount(session.execute(q.execution_options(synchronize_session=False)))
    session.flush()
    return ended


def end_session(session: Session, token: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == token_digest(token)))


class Person(Protocol):
    """Who a token is for: a ``User`` row or the web layer's plain copy of one."""

    @property
    def id(self) -> int: ...

    @property
    def rights_holder_id(self) -> int: ...


#: how long a new API token may live, in days (the page offers these)
TOKEN_DAYS = (30, 90, 365)


def create_token(session: Session, user: Person, name: str, *, days: int = 90,
                 now: datetime | None = None) -> tuple[str, ApiToken]:
    if not 1 <= days <= max(TOKEN_DAYS):
        raise Refused(f"a token lives 1 to {max(TOKEN_DAYS)} days")
    raw = "mwt_" + secrets.token_urlsafe(32)
    tok = ApiToken(rights_holder_id=user.rights_holder_id, user_id=user.id, name=name,
                   prefix=raw[:12], token_hash=token_digest(raw),
                   expires_at=(now or utcnow()) + timedelta(days=days))
    session.add(tok)
    session.flush()
    return raw, tok


def token_user(session: Session, raw: str) -> User | None:
    row = session.execute(
        sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(raw), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    tok, user = row
    if not user.active or user.rights_holder_id != tok.rights_holder_id:
        return None
    if tok.expires_at is not None and tok.expires_at <= utcnow():
        return None
    return user


def revoke_token(scope: Scope, token_id: int) -> None:
    tok = scope.get(ApiToken, token_id)
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
    scope.session.flush()


def holder(session: Session, rights_holder_id: int) -> RightsHolder:
    rh = session.get(RightsHolder, rights_holder_id)
    assert rh is not None
    return rh
