"""A limit on request bodies, enforced by the outermost layer of the app: before routing, before
authentication, before a byte of the body is read or spooled to disk.

A declared ``Content-Length`` over the limit is answered 413 at once, the body unread. A body
without one (chunked) is counted as it arrives and cut off with 413 at the limit. Multipart
uploads (registry CSV imports, rights documents) get a larger limit than other requests.

Starlette has no body limit of its own and uvicorn none per request, hence this small ASGI
middleware.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` at the limit; an HTTPException, so the app's body parsing lets it
    through and its error handler answers 413 (a page or JSON, as for any error)."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes",
                         headers={"Connection": "close"})
        self.limit = limit


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope.get("headers", ()):
        if k.lower() == name:
            return bytes(v)
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int):
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    def limit_for(self, scope: Scope) -> int:
        ctype = (_header(scope, b"content-type") or b"").lower()
        return self.max_upload if ctype.startswith(b"multipart/form-data") else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _refuse(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _refuse(send, 413, f"the request body is larger than {limit} bytes")
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _refuse(send, 413, str(exc.detail))


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"),
                          (b"content-length", str(len(body)).encode()),
                          (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
