"""Users and API tokens."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.accounts import (
    TOKEN_DAYS,
    create_token,
    create_user,
    revoke_token,
    set_password,
)
from db.enforcement import ApiToken
from db.models import Role, User
from db.tenancy import Refused
from db.types import utcnow
from markwatch.accounts import hash_password, verify_password
from web.core import (
    Admin,
    Reader,
    TextLimits,
)
from web.pages.common import Id, page

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/users")
def users(request: Request, ctx: Admin) -> HTMLResponse:
    rows = ctx.session.scalars(ctx.scope.select(User).order_by(User.id)).all()
    return page(request, "users.html", ctx, users=rows)


@router.post("/users")
def add_user(
    ctx: Admin,
    email: Annotated[str, TextLimits(254, 3), Form()],
    role: Annotated[Literal["admin", "reviewer", "viewer"], Form()],
    password: Annotated[str, Form(min_length=10, max_length=200)],
    name: Annotated[str, TextLimits(200), Form()] = "",
) -> Response:
    create_user(ctx.session, rights_holder_id=ctx.user.rights_holder_id, email=email, name=name,
                role=role, password_hash=hash_password(password))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/role")
def set_role(ctx: Admin, user_id: Id,
             role: Annotated[Literal["admin", "reviewer", "viewer"], Form()]) -> Response:
    u = ctx.scope.get(User, user_id)
    if u.id == ctx.user.id and role != "admin":
        raise Refused("you cannot take away your own admin role")
    u.role = Role(role)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate(ctx: Admin, user_id: Id) -> Response:
    u = ctx.scope.get(User, user_id)
    if u.id == ctx.user.id:
        raise Refused("you cannot deactivate yourself")
    u.active = False
    return RedirectResponse("/users", status_code=303)


@router.get("/tokens")
def tokens(request: Request, ctx: Reader) -> HTMLResponse:
    q = ctx.scope.select(ApiToken).order_by(ApiToken.id)
    if not ctx.can("admin"):
        q = q.where(ApiToken.user_id == ctx.user.id)
    return page(request, "tokens.html", ctx, tokens=ctx.session.scalars(q).all(), new_token=None,
                now=utcnow(), token_days=TOKEN_DAYS)


@router.post("/tokens")
def new_token(request: Request, ctx: Reader, name: Annotated[str, TextLimits(100, 1), Form()],
              days: Annotated[int, Form(ge=1, le=365)] = 90) -> HTMLResponse:
    raw, _tok = create_token(ctx.session, ctx.user, name, days=days)
    q = ctx.scope.select(ApiToken).where(ApiToken.user_id == ctx.user.id).order_by(ApiToken.id)
    return page(request, "tokens.html", ctx, tokens=ctx.session.scalars(q).all(), new_token=raw,
                now=utcnow(), token_days=TOKEN_DAYS)


@router.post("/tokens/{token_id}/revoke")
def revoke(ctx: Reader, token_id: Id) -> Response:
    tok = ctx.scope.get(ApiToken, token_id)
    if tok.user_id != ctx.user.id and not ctx.can("admin"):
        raise HTTPException(403, "only its owner or an admin may revoke a token")
    revoke_token(ctx.scope, token_id)
    return RedirectResponse("/tokens", status_code=303)


# --- passwords ---------------------------------------------------------------------------------


@router.get("/account")
def account(request: Request, ctx: Reader, changed: bool = False) -> HTMLResponse:
    return page(request, "account.html", ctx, changed=changed, error=None)


@router.post("/account/password")
def change_password(
    request: Request, ctx: Reader,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
    again: Annotated[str, Form(max_length=200)],
) -> Response:
    """Change one's own password: the current one first; every other session ends."""
    user = ctx.scope.get(User, ctx.user.id)
    error = None
    if not verify_password(user.password_hash, current):
        error = "The current password is not right."
    elif new != again:
        error = "The new password and its repetition differ."
    elif new == current:
        error = "The new password is the current one."
    if error is None:
        try:
            pw_hash = hash_password(new)
        except ValueError as exc:
            error = str(exc)
        else:
            set_password(ctx.session, user, pw_hash, keep_session=ctx.session_token)
            return RedirectResponse("/account?changed=true", status_code=303)
    return page(request, "account.html", ctx, 400, changed=False, error=error)


@router.post("/users/{user_id}/password")
def reset_password(ctx: Admin, user_id: Id,
                   password: Annotated[str, Form(min_length=10, max_length=200)]) -> Response:
    """An admin sets a new password for a user of the holder (who forgot theirs); the user's
    sessions end, so a stolen one stops working too."""
    u = ctx.scope.get(User, user_id)
    try:
        pw_hash = hash_password(password)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    set_password(ctx.session, u, pw_hash)
    return RedirectResponse("/users", status_code=303)
