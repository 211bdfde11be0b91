"""What every route shares: the per-request transaction, who is asking (session cookie or API
token), permissions per role, CSRF, and the tenant scope.

Routes never build their own queries on tenant rows: they get a ``Ctx`` whose ``scope`` adds the
user's rights holder to every read and write (``db.tenancy.Scope``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, StringConstraints
from sqlalchemy.orm import Session

from db.accounts import session_user, token_user
from db.models import Role
from db.session import on_commit
from db.tenancy import Scope

SESSION_COOKIE = "mw_session"
LOGIN_CSRF_COOKIE = "mw_login_csrf"

#: what each role may do; every route names the permission it needs
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset({"read"}),
    Role.REVIEWER: frozenset({"read", "review"}),
    Role.ADMIN: frozenset({"read", "review", "admin"}),
}

MAX_ID = 2**31 - 1


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("NUL characters are not allowed")
    return v


@dataclass(frozen=True)
class TextLimits(GroupedMetadata):
    """A string field's rules: bounded, stripped, no NUL (PostgreSQL refuses NUL in text).
    Typed metadata, so ``Annotated[str, TextLimits(200, 1)]`` is a type a checker accepts."""

    max_length: int = 2000
    min_length: int = 0

    def __iter__(self) -> Iterator[Any]:
        yield from StringConstraints(strip_whitespace=True, max_length=self.max_length,
                                     min_length=self.min_length)
        yield AfterValidator(_no_nul)


def Text(max_length: int = 2000, min_length: int = 0) -> Any:
    """The same rules as an annotated type built at run time (a type checker cannot follow it:
    prefer ``Annotated[str, TextLimits(...)]``)."""
    return Annotated[str, TextLimits(max_length, min_length)]


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


#: methods whose requests only read: their transaction takes no write lock (db.session)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises;
    ``on_commit`` callbacks (sending tasks) run after the commit, before the response.

    A sync dependency, so FastAPI runs it (and every database call of the request) in its thread
    pool, never on the event loop. GET and HEAD requests get a read-only transaction: on SQLite
    it takes no write lock, so any number of readers proceed while one writer works."""
    state = request.app.state
    factory = state.read_sessions if request.method in READ_METHODS else state.sessions
    with factory() as s, s.begin():
        yield s


DB = Annotated[Session, Depends(db_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API token (create one under Tokens).")


@dataclass(frozen=True)
class Who:
    """The signed-in user as plain values (still readable after the transaction ended)."""

    id: int
    email: str
    name: str
    role: Role
    rights_holder_id: int


@dataclass
class Ctx:
    session: Session
    user: Who
    holder_slug: str
    holder_name: str
    via: str  # "session" or "token"
    csrf: str | None
    session_token: str | None
    perms: frozenset[str] = field(default_factory=frozenset)

    @property
    def scope(self) -> Scope:
        return Scope(self.session, self.user.rights_holder_id, self.user.email)

    def can(self, perm: str) -> bool:
        return perm in self.perms

    def after_commit(self, fn: Callable[[], Any]) -> None:
        on_commit(self.session, fn)


#: the shape of an API token (``db.accounts.create_token``); anything else is refused unread
_TOKEN_SHAPE = re.compile(r"^mwt_[A-Za-z0-9_-]{20,100}$")
_SESSION_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _resolve(request: Request, s: Session, creds: HTTPAuthorizationCredentials | None) -> Ctx | None:
    from db.models import RightsHolder

    if creds is not None and creds.scheme.lower() == "bearer":
        if not _TOKEN_SHAPE.match(creds.credentials):
            return None  # junk costs no database round trip
        user = token_user(s, creds.credentials)
        if user is None:
            return None
        via, csrf, token = "token", None, None
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token or not _SESSION_SHAPE.match(token):
            return None
        found = session_user(s, token)
        if found is None:
            return None
        ws, user = found
        via, csrf = "session", ws.csrf_token
    rh = s.get(RightsHolder, user.rights_holder_id)
    assert rh is not None
    who = Who(user.id, user.email, user.name, user.role, user.rights_holder_id)
    return Ctx(s, who, rh.slug, rh.name, via, csrf, token, PERMISSIONS[user.role])


async def _check_csrf(request: Request, ctx: Ctx) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or ctx.via != "session":
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not ctx.csrf or not hmac.compare_digest(sent.encode(), ctx.csrf.encode()):
        raise CsrfFailed()


def identify(
    request: Request,
    s: DB,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Ctx | None:
    """Who is asking, or None. Sync on purpose: its database reads run in the thread pool
    (an ``async`` dependency would make them on the event loop and stall every request)."""
    return _resolve(request, s, creds)


def require(perm: str) -> Any:
    """A dependency: the signed-in user, with ``perm``, CSRF checked on state changes."""

    async def dep(request: Request, ctx: Annotated[Ctx | None, Depends(identify)]) -> Ctx:
        if ctx is None:
            raise LoginRequired()
        await _check_csrf(request, ctx)
        if perm not in ctx.perms:
            raise HTTPException(403, f"your role ({ctx.user.role.value}) may not do this")
        request.state.ctx = ctx
        return ctx

    return dep


Reader = Annotated[Ctx, Depends(require("read"))]
Reviewer = Annotated[Ctx, Depends(require("review"))]
Admin = Annotated[Ctx, Depends(require("admin"))]
