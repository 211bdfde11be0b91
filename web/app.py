"""The web app: server-rendered review pages and the versioned JSON API, one process.

``create_app()`` reads the settings (``MARKWATCH_*``), so ``uvicorn --factory web.app:create_app``
and ``markwatch serve`` run the same thing. Every response carries a strict
Content-Security-Policy: scripts and styles come from ``/static`` only, nothing inline, and the
captured pages of listings are served on their own under ``sandbox; default-src 'none'``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from db.registry import RegistryImportError
from db.session import engine_for, read_only_engine, session_factory
from db.tenancy import NotFound, Refused
from markwatch.metrics import ClusterCollector, metrics
from markwatch.metrics import serve as serve_metrics
from markwatch.settings import Settings, get_settings
from web import explain
from web.core import CsrfFailed, LoginRequired
from web.limits import BodyLimitMiddleware

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: for hostile or generated documents shown on their own (captured pages, notices)
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["short_reason"] = explain.short


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    ctx = getattr(request.state, "ctx", None)
    return templates.TemplateResponse(
        request, "error.html", {"ctx": ctx, "status": status, "message": message},
        status_code=status,
    )


def make_dispatch(settings: Settings, sessions: Any) -> Any:
    """How a queued notice gets sent: a Celery task on a real broker; in embedded mode (no
    worker) a thread of this process runs the same task body."""
    if settings.uses_embedded_broker:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notice-sender")

        def inline(notice_id: int) -> None:
            from tasks.enforcement import deliver_notice

            def run() -> None:
                from sqlalchemy.exc import OperationalError

                for attempt in range(5):  # a busy store ("database is locked"): try again
                    try:
                        deliver_notice(sessions, notice_id)
                        return
                    except OperationalError:
                        log.warning("sending notice %s: store busy (try %d)", notice_id,
                                    attempt + 1, exc_info=True)
                        time.sleep(2 ** attempt)
                    except Exception:
                        log.exception("sending notice %s failed", notice_id)
                        return
                log.error("notice %s stays queued: the store stayed busy; send it again",
                          notice_id)

            pool.submit(run)

        return inline

    def celery(notice_id: int) -> None:
        from tasks.enforcement import send_notice

        send_notice.delay(notice_id)

    return celery


def create_app(settings: Settings | None = None, *, dispatch: Any = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="markwatch",
        version="1",
        description="Trademark-infringement review and enforcement: alerts, verdicts, cases, "
        "notices and the marketplaces' answers. Authenticate with `Authorization: Bearer "
        "<token>`; every object belongs to your rights holder and no other.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    engine = engine_for(settings.effective_database_url)
    app.state.sessions = session_factory(engine)
    app.state.read_sessions = session_factory(read_only_engine(engine))
    app.state.dispatch = dispatch or make_dispatch(settings, app.state.sessions)
    from markwatch.objectstore import evidence_store

    app.state.evidence = evidence_store(settings)  # evidence is read where the workers wrote it
    app.state.secure_cookies = settings.env == "production"

    # outermost of our layers: bodies are bounded before routing, authentication or parsing
    app.add_middleware(BodyLimitMiddleware, max_body=settings.web_max_body,
                       max_upload=settings.web_max_upload)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        h = response.headers
        h.setdefault("Content-Security-Policy", PAGE_CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")
        return response

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Response:
        began = time.monotonic()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", None) or "unmatched"  # the template, never the raw URL
        metrics().http_requests.labels(request.method, path, str(response.status_code)).observe(
            time.monotonic() - began)
        return response

    if settings.metrics_port:
        serve_metrics(settings.metrics_port, settings.metrics_host,
                      cluster=ClusterCollector(settings, app.state.sessions))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return _error(request, 401, "Please sign in again.")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "The form's security token is missing or stale; reload the "
                      "page and try again.")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc) or "Not found.")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(RegistryImportError)
    async def bad_import(request: Request, exc: RegistryImportError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(exc),
                                 "errors": [{"line": ln, "message": m} for ln, m in exc.errors]},
                                status_code=422)
        return _error(request, 422, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or exc.status_code in (401,):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg"))}
                  for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        text = "; ".join(f"{'.'.join(e['loc'][1:]) or 'form'}: {e['msg']}" for e in errors)
        return _error(request, 422, f"Please check the form: {text}")

    from web import networks, pages, photos, v1

    app.include_router(v1.router)
    app.include_router(pages.router)
    app.include_router(photos.router)
    app.include_router(networks.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:  # on the event loop: answers even when threads are busy
        return {"status": "ok"}

    return app
