"""People who sign in: password hashing (argon2id) and the demo's accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class SignIn:
    """How a sign-in ended: ``user`` signed in; or locked for ``wait`` seconds (throttled,
    password not checked); or several accounts matched and the person picks one of ``choices``
    ((slug, name) of their rights holders); or none of these (wrong e-mail or password)."""

    user: Any = None
    wait: float = 0.0
    choices: tuple[tuple[str, str], ...] = ()


def sign_in(session: sa.orm.Session, email: str, password: str, *, address: str,
            holder: str | None = None, now: datetime | None = None) -> SignIn:
    """Check a sign-in under the throttle (``db.throttle``): per account and per address."""
    from db.accounts import find_users
    from db.models import RightsHolder
    from db.throttle import (
        Policy,
        account_key,
        address_key,
        locked_for,
        record_failure,
        record_success,
    )
    from db.types import utcnow
    from markwatch.settings import get_settings

    st = get_settings()
    now = now or utcnow()
    keys = {
        account_key(email): Policy(st.login_free_attempts, st.login_lockout_base,
                                   st.login_lockout_max),
        address_key(address): Policy(st.login_address_free_attempts, st.login_lockout_base,
                                     st.login_lockout_max),
    }
    wait = locked_for(session, keys, now=now)
    if wait > 0:
        return SignIn(wait=wait)
    users = find_users(session, email)
    if not users:
        verify_password(None, password)  # as long as a wrong password
    matched = [u for u in users if verify_password(u.password_hash, password) and u.active]
    holders = {rh.id: rh for rh in session.scalars(
        sa.select(RightsHolder).where(RightsHolder.id.in_([u.rights_holder_id for u in matched])))}
    if holder:
        matched = [u for u in matched if holders[u.rights_holder_id].slug == holder]
    if not matched:
        record_failure(session, keys, now=now)
        return SignIn()
    if len(matched) > 1:
        return SignIn(choices=tuple((holders[u.rights_holder_id].slug,
                                     holders[u.rights_holder_id].name) for u in matched))
    record_success(session, account_key(email))
    return SignIn(user=matched[0])


DEMO_PASSWORD = "markwatch-demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    holder: str


#: the demo's people: a notice is signed by a named person, never by a role or a company
DEMO_PEOPLE = {"admin": "Mei Ling Chan", "reviewer": "Jonas Weber", "viewer": "Aiko Tan"}


def ensure_demo_users(session: sa.orm.Session, password: str = DEMO_PASSWORD) -> list[DemoLogin]:
    """An admin, a reviewer and a viewer for every rights holder (created once)."""
    from db.accounts import create_user, find_user
    from db.models import RightsHolder

    logins = []
    pw_hash = None
    for rh in session.scalars(sa.select(RightsHolder).order_by(RightsHolder.id)):
        for role in ("admin", "reviewer", "viewer"):
            email = f"{role}@{rh.slug}.example"
            if find_user(session, email, rh.id) is None:
                pw_hash = pw_hash or hash_password(password)
                create_user(session, rights_holder_id=rh.id, email=email,
                            name=DEMO_PEOPLE[role], role=role, password_hash=pw_hash)
            logins.append(DemoLogin(email, role, rh.slug))
    return logins
