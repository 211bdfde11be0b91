"""People who sign in: password hashing (argon2id) and the demo's accounts."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_PASSWORD = 10
#: verified when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


DEMO_PASSWORD = "markwatch-demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    holder: str


def ensure_demo_users(session: sa.orm.Session, password: str = DEMO_PASSWORD) -> list[DemoLogin]:
    """An admin, a reviewer and a viewer for every rights holder (created once)."""
    from db.accounts import create_user, find_user
    from db.models import RightsHolder

    logins = []
    pw_hash = None
    for rh in session.scalars(sa.select(RightsHolder).order_by(RightsHolder.id)):
        for role in ("admin", "reviewer", "viewer"):
            email = f"{role}@{rh.slug}.example"
            if find_user(session, email) is None:
                pw_hash = pw_hash or hash_password(password)
                create_user(session, rights_holder_id=rh.id, email=email,
                            name=f"{rh.name} {role}", role=role, password_hash=pw_hash)
            logins.append(DemoLogin(email, role, rh.slug))
    return logins
