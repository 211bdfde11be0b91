"""Signing in and out."""

from __future__ import annotations

import hmac
import logging
import math
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.accounts import (
    end_session,
    start_session,
)
from markwatch.accounts import sign_in
from web.core import (
    DB,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Reader,
    TextLimits,
)
from web.pages.common import page

log = logging.getLogger(__name__)
router = APIRouter()


def _login_page(request: Request, error: str | None = None, status: int = 200,
                **extra: Any) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    resp = page(request, "login.html", None, status, csrf=token, error=error, **extra)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                    secure=request.app.state.secure_cookies)
    return resp


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    s: DB,
    email: Annotated[str, TextLimits(254), Form()],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    holder: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
        return _login_page(request, "Your sign-in form expired; please try again.", 403)
    result = sign_in(s, email, password, address=request.client.host if request.client else "-",
                     holder=holder or None)
    if result.wait:
        wait = math.ceil(result.wait)
        locked = _login_page(request, f"Too many failed sign-ins; try again in {wait} s.", 429)
        locked.headers["Retry-After"] = str(wait)
        return locked
    if result.choices:
        return _login_page(request, "This e-mail has accounts at several rights holders: choose "
                           "one and enter your password again.", 200, email=email,
                           holders=result.choices)
    if result.user is None:
        return _login_page(request, "Wrong e-mail or password.", 400)
    token, _ws = start_session(s, result.user)
    resp = RedirectResponse("/alerts", status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                    secure=request.app.state.secure_cookies, max_age=7 * 86400)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(ctx: Reader) -> Response:
    if ctx.session_token:
        end_session(ctx.session, ctx.session_token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/")
def home(ctx: Reader) -> Response:
    return RedirectResponse("/alerts", status_code=303)
