"""What every page shares: rendering, safe redirects within the site and the common form
types. Every state change is a POST with a CSRF token and its own permission; every page is
rendered by Jinja2 with autoescaping."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import Field

from web.app import templates
from web.core import (
    MAX_ID,
    Ctx,
    TextLimits,
)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdForm = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form()]
Note = Annotated[str, TextLimits(1000), Form()]


def page(request: Request, name: str, ctx: Ctx | None, code: int = 200, /, **data: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"ctx": ctx, **data}, status_code=code)


def back(url: str, default: str) -> RedirectResponse:
    """Redirect within the site only (no open redirect through ``next``)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        url = default
    return RedirectResponse(url, status_code=303)
