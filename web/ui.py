"""The server-rendered pages. Every state change is a POST with a CSRF token and its own
permission; every page is rendered by Jinja2 with autoescaping, and scraped HTML is only ever
shown as escaped source or inside a sandboxed frame."""

from __future__ import annotations

import hmac
import io
import logging
import math
import secrets
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from db.accounts import (
    create_token,
    create_user,
    end_session,
    revoke_token,
    start_session,
)
from db.alert_queue import QueueFilters, alert_detail, queue_page, snapshot_html, status_counts
from db.captures import CaptureUnreadable
from db.cases import (
    build_cases,
    case_view,
    close_case,
    list_cases,
    remove_from_case,
    repeat_infringers,
    seller_history,
)
from db.coverage import coverage
from db.dashboard import dashboard
from db.enforcement import ApiToken, Notice, RightsDocument
from db.models import Mark, Marketplace, Role, User
from db.notices import record_answer, record_counter_notice, resolve_counter_notice
from db.photos import alert_images, first_photos
from db.registry import (
    RegistryImportError,
    add_mark,
    add_watch,
    import_marks,
    import_products,
    import_sellers,
    import_watches,
)
from db.registry_view import add_document, registry_view, scoped_csv
from db.tenancy import Refused
from db.verdicts import DISMISS_REASONS, transition
from markwatch.accounts import hash_password, sign_in
from web import charts, services
from web.app import SANDBOX_CSP, templates
from web.core import (
    DB,
    LOGIN_CSRF_COOKIE,
    MAX_ID,
    SESSION_COOKIE,
    Admin,
    Ctx,
    Reader,
    Reviewer,
    TextLimits,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdForm = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form()]
Note = Annotated[str, TextLimits(1000), Form()]

SOURCE_LIMIT = 300_000  # characters of captured HTML shown as escaped source


def page(request: Request, name: str, ctx: Ctx | None, code: int = 200, /, **data: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"ctx": ctx, **data}, status_code=code)


def back(url: str, default: str) -> RedirectResponse:
    """Redirect within the site only (no open redirect through ``next``)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        url = default
    return RedirectResponse(url, status_code=303)


# --- sign in and out ---------------------------------------------------------------------------


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


# --- the queue ---------------------------------------------------------------------------------


@router.get("/alerts")
def queue(
    request: Request,
    ctx: Reader,
    status: Literal["new", "in_review", "confirmed", "dismissed", "all"] = "new",
    mark_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    marketplace: Annotated[str, TextLimits(32), Query()] = "",
    tier: Literal["", "high", "medium", "low"] = "",
    seller: Annotated[str, TextLimits(300), Query()] = "",
    since: date | None = None,
    until: date | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=10, le=200)] = 50,
    done: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    refused: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    view: Literal["table", "cards"] = "table",
) -> HTMLResponse:
    f = QueueFilters(status=None if status == "all" else status, mark_id=mark_id,
                     marketplace=marketplace or None, tier=tier or None, seller=seller or None,
                     since=since, until=until)
    items, nxt = queue_page(ctx.scope, f, cursor=cursor, limit=limit)
    counts = status_counts(ctx.scope, f)
    params = {k: v for k, v in {
        "status": status, "mark_id": mark_id, "marketplace": marketplace, "tier": tier,
        "seller": seller, "since": since, "until": until, "limit": limit if limit != 50 else None,
        "view": view if view != "table" else None,
    }.items() if v not in (None, "")}
    marks = ctx.session.scalars(ctx.scope.select(Mark).order_by(Mark.word_mark)).all()
    markets = ctx.session.scalars(sa.select(Marketplace).order_by(Marketplace.code)).all()
    here = request.url.path + ("?" + request.url.query if request.url.query else "")
    return page(
        request, "queue.html", ctx, items=items, counts=counts, status=status, params=params,
        next_url=("/alerts?" + urlencode({**params, "cursor": nxt})) if nxt else None,
        first_url="/alerts?" + urlencode(params) if cursor else None,
        tab_url=lambda st: "/alerts?" + urlencode({**params, "status": st}),
        marks=marks, markets=markets, reasons=DISMISS_REASONS, here=here, done=done,
        refused=refused, f=f, view=view,
        view_url=lambda v: "/alerts?" + urlencode({**params, "view": v}),
        photos=first_photos(ctx.session, [a.alert_id for a in items]) if view == "cards" else {},
    )


@router.post("/alerts/bulk")
def bulk(
    ctx: Reviewer,
    alert_ids: IdForm,
    action: Annotated[Literal["confirm", "dismiss", "review"], Form()],
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Note = "",
    next: Annotated[str, Form(max_length=2000)] = "/alerts",
) -> Response:
    out = transition(ctx.scope, alert_ids, action, reason=reason or None, note=note or None,
                     strict=False)
    sep = "&" if "?" in next else "?"
    return back(f"{next}{sep}done={len(out.changed)}&refused={len(out.refused)}", "/alerts")


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, ctx: Reader, alert_id: Id) -> HTMLResponse:
    d = alert_detail(ctx.scope, alert_id)
    source = unreadable = None
    if d.snapshot is not None:
        try:
            _snap, body = snapshot_html(ctx.scope, alert_id, request.app.state.evidence)
        except CaptureUnreadable as exc:
            log.error("alert %s: %s", alert_id, exc)
            unreadable = str(exc)
        else:
            source = body.decode("utf-8", errors="replace")[:SOURCE_LIMIT]
    photos = alert_images(ctx.scope, alert_id)
    captured_urls = {p.url for p in photos}
    uncaptured = [u for u in (str(x) for x in d.listing.images) if u not in captured_urls]
    return page(request, "alert.html", ctx, d=d, source=source, photos=photos,
                uncaptured=uncaptured, unreadable=unreadable,
                truncated=source is not None and len(source) >= SOURCE_LIMIT,
                reasons=DISMISS_REASONS)


@router.get("/alerts/{alert_id}/captured")
def captured(request: Request, ctx: Reader, alert_id: Id) -> Response:
    """The captured page, byte for byte, under a sandbox CSP: no script, no request leaves it."""
    try:
        _snap, body = snapshot_html(ctx.scope, alert_id, request.app.state.evidence)
    except CaptureUnreadable as exc:
        log.error("alert %s: %s", alert_id, exc)
        raise HTTPException(502, "the captured page cannot be read from the evidence "
                            "store") from None
    return Response(body, media_type="text/html", headers={
        "Content-Security-Policy": SANDBOX_CSP, "X-Frame-Options": "SAMEORIGIN",
        "Cross-Origin-Resource-Policy": "same-origin",
    })


def _verdict_form(ctx: Ctx, alert_id: int, action: str, reason: str | None, note: str,
                  next_url: str) -> Response:
    transition(ctx.scope, [alert_id], action, reason=reason, note=note or None)
    return back(next_url, f"/alerts/{alert_id}")


NextField = Annotated[str, Form(max_length=2000)]


@router.post("/alerts/{alert_id}/review")
def review(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "review", None, note, next)


@router.post("/alerts/{alert_id}/confirm")
def confirm(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "confirm", None, note, next)


@router.post("/alerts/{alert_id}/dismiss")
def dismiss(ctx: Reviewer, alert_id: Id, reason: Annotated[str, Form(max_length=40)],
            note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "dismiss", reason, note, next)


@router.post("/alerts/{alert_id}/reopen")
def reopen(ctx: Reviewer, alert_id: Id, note: Note = "", next: NextField = "") -> Response:
    return _verdict_form(ctx, alert_id, "reopen", None, note, next)


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases")
def cases(request: Request, ctx: Reader,
          status: Literal["", "open", "notice_sent", "answered", "closed", "reopened"] = "") -> HTMLResponse:
    rows = list_cases(ctx.scope, status=status or None)
    codes = dict(ctx.session.execute(sa.select(Marketplace.id, Marketplace.code)).all())
    return page(request, "cases.html", ctx, rows=rows, codes=codes, status=status,
                repeaters=repeat_infringers(ctx.scope))


@router.post("/cases")
def create_cases(ctx: Reviewer, alert_ids: IdForm,
                 group_by: Annotated[Literal["seller", "marketplace"], Form()] = "seller") -> Response:
    ids = build_cases(ctx.scope, alert_ids, group_by=group_by)
    if len(set(ids)) == 1:
        return RedirectResponse(f"/cases/{ids[0]}", status_code=303)
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases/{case_id}")
def case_page(request: Request, ctx: Reader, case_id: Id) -> HTMLResponse:
    v = case_view(ctx.scope, case_id)
    market = ctx.session.get(Marketplace, v.case.marketplace_id)
    today = date.today()
    return page(request, "case.html", ctx, v=v, market=market, today=today,
                default_deadline=today + timedelta(days=10))


@router.post("/cases/{case_id}/notices")
def generate(ctx: Reviewer, case_id: Id) -> Response:
    notices = services.generate_notices(ctx, case_id)
    if len(notices) == 1:
        return RedirectResponse(f"/notices/{notices[0].id}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/close")
def close(ctx: Reviewer, case_id: Id, reason: Annotated[str, TextLimits(1000, 1), Form()]) -> Response:
    close_case(ctx.scope, case_id, reason)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/alerts/{alert_id}/remove")
def remove(ctx: Reviewer, case_id: Id, alert_id: Id) -> Response:
    remove_from_case(ctx.scope, case_id, alert_id)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/counter-notices")
def counter(ctx: Reviewer, case_id: Id, seller: Annotated[str, TextLimits(300, 1), Form()],
            received_on: Annotated[date, Form()], deadline: Annotated[date, Form()],
            statement: Annotated[str, TextLimits(5000), Form()] = "") -> Response:
    record_counter_notice(ctx.scope, case_id, seller=seller, received_on=received_on,
                          deadline=deadline, statement=statement)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/counter-notices/{counter_notice_id}/resolve")
def resolve(ctx: Reviewer, counter_notice_id: Id,
            status: Annotated[Literal["replied", "withdrawn", "accepted"], Form()],
            resolution: Annotated[str, TextLimits(2000, 1), Form()]) -> Response:
    c = resolve_counter_notice(ctx.scope, counter_notice_id, status, resolution)
    return RedirectResponse(f"/cases/{c.case_id}", status_code=303)


# --- notices -----------------------------------------------------------------------------------


@router.get("/notices/{notice_id}")
def notice_page(request: Request, ctx: Reader, notice_id: Id) -> HTMLResponse:
    n = ctx.scope.get(Notice, notice_id)
    v = case_view(ctx.scope, n.case_id)
    docs = ctx.session.scalars(
        ctx.scope.select(RightsDocument).where(RightsDocument.id.in_(n.document_ids))
    ).all()
    return page(request, "notice.html", ctx, n=n, v=v, answers=v.answers.get(n.id, []),
                docs=docs, today=date.today())


@router.get("/notices/{notice_id}/document")
def notice_document(ctx: Reader, notice_id: Id,
                    download: Annotated[bool, Query()] = False) -> Response:
    n = ctx.scope.get(Notice, notice_id)
    headers = {"Content-Security-Policy": SANDBOX_CSP, "X-Frame-Options": "SAMEORIGIN"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="notice-{n.id}.html"'
    return Response(n.html, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/notices/{notice_id}/listings.csv")
def notice_csv(ctx: Reader, notice_id: Id) -> Response:
    n = ctx.scope.get(Notice, notice_id)
    return Response(n.csv, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="notice-{n.id}-listings.csv"'})


@router.post("/notices/{notice_id}/send")
def send(request: Request, ctx: Reviewer, notice_id: Id) -> Response:
    services.send(ctx, request.app, notice_id)
    return RedirectResponse(f"/notices/{notice_id}", status_code=303)


@router.post("/notices/{notice_id}/answers")
def answer(ctx: Reviewer, notice_id: Id,
           outcome: Annotated[Literal["removed", "rejected", "more_info"], Form()],
           note: Annotated[str, TextLimits(2000), Form()] = "",
           answered_on: Annotated[date | None, Form()] = None) -> Response:
    record_answer(ctx.scope, notice_id, outcome, note=note, answered_on=answered_on)
    return RedirectResponse(f"/notices/{notice_id}", status_code=303)


# --- sellers and the dashboard -----------------------------------------------------------------


@router.get("/sellers")
def seller(request: Request, ctx: Reader, marketplace: Annotated[str, TextLimits(32, 1), Query()],
           seller: Annotated[str, TextLimits(300, 1), Query()]) -> HTMLResponse:
    h = seller_history(ctx.scope, marketplace, seller)
    return page(request, "seller.html", ctx, h=h)


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: Reader) -> HTMLResponse:
    d = dashboard(ctx.scope)
    return page(request, "dashboard.html", ctx, d=d, cov=coverage(ctx.scope),
                status_chart=charts.stacked_bars(d.days, d.by_day),
                reasons_chart=charts.hbars(list(d.dismiss_reasons.items())),
                hours_chart=charts.histogram(d.detection_to_notice_hours),
                reasons=DISMISS_REASONS)


# --- crawls ------------------------------------------------------------------------------------

LOG_TAIL = 64 * 1024  # bytes of a crawl's log shown on its page


@router.get("/crawls")
def crawls_page(request: Request, ctx: Admin,
                run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    """What this holder's recent crawls fetched, stored and skipped, and why; with ``run``, one
    run and the end of its Scrapy log."""
    from db.crawl_runs import recent_runs
    from markwatch.metrics import crawl_skips
    from markwatch.settings import get_settings

    runs = recent_runs(ctx.session, limit=1 if run else 100, run_id=run,
                       rights_holder_id=ctx.scope.rights_holder_id)
    if run and not runs:
        raise HTTPException(404, "no such crawl run")
    log_tail = None
    if run:
        path = get_settings().crawl_log_path(run)
        if path.is_file():
            with path.open("rb") as fh:
                fh.seek(max(0, path.stat().st_size - LOG_TAIL))
                log_tail = fh.read().decode("utf-8", "replace")
    from crawler.profile import why_not_crawlable

    markets = [] if run else [
        (m, why_not_crawlable(m.spider, m.profile))
        for m in ctx.session.scalars(sa.select(Marketplace).order_by(Marketplace.code))]
    return page(request, "crawls.html", ctx, runs=runs, one=bool(run), log_tail=log_tail,
                skips={r.id: crawl_skips(r.stats) for r in runs}, markets=markets)


# --- registry ----------------------------------------------------------------------------------


@router.get("/registry")
def registry(request: Request, ctx: Reader, imported: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    return page(request, "registry.html", ctx, r=registry_view(ctx.scope), imported=imported)


def _ok(what: str, result: Any) -> Response:
    return RedirectResponse("/registry?" + urlencode({"imported": f"{what}: {result}"}), status_code=303)


@router.post("/registry/marks")
def registry_mark(
    ctx: Admin,
    mark: Annotated[str, TextLimits(200, 1), Form()],
    registration_number: Annotated[str, TextLimits(64, 1), Form()],
    office: Annotated[str, TextLimits(32, 1), Form()],
    nice_classes: Annotated[str, TextLimits(200, 1), Form()],
    aliases: Annotated[str, TextLimits(1000), Form()] = "",
    jurisdictions: Annotated[str, TextLimits(200), Form()] = "",
    expires_on: Annotated[date | None, Form()] = None,
) -> Response:
    fields: dict[str, Any] = {"rights_holder": ctx.holder_slug, "mark": mark,
                              "registration_number": registration_number, "office": office,
                              "nice_classes": nice_classes, "aliases": aliases,
                              "jurisdictions": jurisdictions}
    if expires_on:
        fields["expires_on"] = expires_on
    return _ok("mark", add_mark(ctx.session, **fields))


def _one_row(columns: list[str], values: list[str]) -> io.StringIO:
    return io.StringIO(services.csv_text(columns, [dict(zip(columns, values, strict=True))]))


@router.post("/registry/products")
def registry_product(
    ctx: Admin,
    name: Annotated[str, TextLimits(300, 1), Form()],
    mark_registration: Annotated[str, TextLimits(64), Form()] = "",
    model_numbers: Annotated[str, TextLimits(1000), Form()] = "",
    retail_price: Annotated[str, TextLimits(20), Form()] = "",
    currency: Annotated[str, TextLimits(3), Form()] = "",
) -> Response:
    cols = ["rights_holder", "mark_registration", "name", "model_numbers", "retail_price", "currency"]
    src = _one_row(cols, [ctx.holder_slug, mark_registration, name, model_numbers, retail_price, currency])
    return _ok("product", import_products(ctx.session, src))


@router.post("/registry/sellers")
def registry_seller(
    ctx: Admin,
    seller: Annotated[str, TextLimits(300, 1), Form()],
    marketplace: Annotated[str, TextLimits(32), Form()] = "",
) -> Response:
    src = _one_row(["rights_holder", "marketplace", "seller"], [ctx.holder_slug, marketplace, seller])
    return _ok("authorised seller", import_sellers(ctx.session, src))


@router.post("/registry/watches")
def registry_watch(
    ctx: Admin,
    mark_registration: Annotated[str, TextLimits(64, 1), Form()],
    marketplace: Annotated[str, TextLimits(32, 1), Form()],
    terms: Annotated[str, TextLimits(1000, 1), Form()],
    schedule_minutes: Annotated[int, Form(ge=5, le=60 * 24 * 31)] = 360,
) -> Response:
    res = add_watch(ctx.session, rights_holder=ctx.holder_slug, mark_registration=mark_registration,
                    marketplace=marketplace, terms=terms, schedule_minutes=schedule_minutes)
    return _ok("watch", res)


IMPORTERS = {"marks": import_marks, "products": import_products, "sellers": import_sellers,
             "watches": import_watches}
MAX_UPLOAD = 10 * 1024 * 1024


@router.post("/registry/import")
async def registry_import(
    ctx: Admin,
    kind: Annotated[Literal["marks", "products", "sellers", "watches"], Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise Refused("the file is larger than 10 MB; split it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegistryImportError("upload", [(0, "not UTF-8 text")]) from None
    if "\x00" in text:
        raise RegistryImportError("upload", [(0, "file contains NUL bytes; not a CSV text file")])
    # the import writes to the store: in the thread pool, never on the event loop
    result = await run_in_threadpool(
        IMPORTERS[kind], ctx.session, io.StringIO(scoped_csv(text, ctx.holder_slug)))
    return _ok(kind, result)


@router.post("/registry/documents")
async def registry_document(
    ctx: Admin,
    title: Annotated[str, TextLimits(200, 1), Form()],
    file: Annotated[UploadFile, File()],
    mark_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    body = await file.read(MAX_UPLOAD + 1)
    if len(body) > MAX_UPLOAD or not body:
        raise Refused("a document is 1 byte to 10 MB")
    name = (file.filename or "document").replace("\x00", "")[-200:]
    ctype = (file.content_type or "application/octet-stream")[:100]
    await run_in_threadpool(lambda: add_document(ctx.scope, title=title, filename=name,
                                                 content_type=ctype, body=body, mark_id=mark_id))
    return _ok("document", title)


@router.get("/documents/{document_id}")
def document(ctx: Reader, document_id: Id) -> Response:
    d = ctx.scope.get(RightsDocument, document_id)
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in d.filename)[:100] or "document"
    return Response(d.body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{safe}"',
        "Content-Security-Policy": SANDBOX_CSP})


# --- users and tokens --------------------------------------------------------------------------


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
    return page(request, "tokens.html", ctx, tokens=ctx.session.scalars(q).all(), new_token=None)


@router.post("/tokens")
def new_token(request: Request, ctx: Reader, name: Annotated[str, TextLimits(100, 1), Form()]) -> HTMLResponse:
    raw, _tok = create_token(ctx.session, ctx.user, name)
    q = ctx.scope.select(ApiToken).where(ApiToken.user_id == ctx.user.id).order_by(ApiToken.id)
    return page(request, "tokens.html", ctx, tokens=ctx.session.scalars(q).all(), new_token=raw)


@router.post("/tokens/{token_id}/revoke")
def revoke(ctx: Reader, token_id: Id) -> Response:
    tok = ctx.scope.get(ApiToken, token_id)
    if tok.user_id != ctx.user.id and not ctx.can("admin"):
        raise HTTPException(403, "only its owner or an admin may revoke a token")
    revoke_token(ctx.scope, token_id)
    return RedirectResponse("/tokens", status_code=303)
