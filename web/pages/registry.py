"""The registry: marks, products, authorised sellers, watches, imports and rights documents."""

from __future__ import annotations

import io
import logging
import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.enforcement import RightsDocument
from db.registry import (
    NamedText,
    RegistryImportError,
    add_mark,
    add_watch,
    import_marks,
    import_products,
    import_sellers,
    import_watches,
)
from db.registry_lifecycle import edit_watch, end_authorisation, retire_mark, set_watch_active
from db.registry_view import add_document, registry_view, scoped_csv
from db.tables import TableError, table_text
from db.tenancy import Refused
from db.types import utcnow
from web import services
from web.app import SANDBOX_CSP
from web.core import (
    MAX_ID,
    Admin,
    Reader,
    TextLimits,
)
from web.pages.common import Id, page

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/registry")
def registry(request: Request, ctx: Reader,
             imported: Annotated[str | None, Query(max_length=200)] = None,
             seller_q: Annotated[str, TextLimits(300), Query()] = "",
             seller_page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    return page(request, "registry.html", ctx, imported=imported, today=utcnow().date(),
                r=registry_view(ctx.scope, seller_q=seller_q, seller_page=seller_page))


def _ok(what: str, result: Any) -> Response:
    message = f"{what}: {result}"
    if len(message) > 200:  # the page shows it from the query string (at most 200 characters)
        message = message[:197] + "..."
    return RedirectResponse("/registry?" + urlencode({"imported": message}), status_code=303)


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
    # errors name the file the admin chose (never a stream), without any path it came with
    name = (file.filename or "upload").replace("\x00", "").replace("\\", "/").rsplit("/", 1)[-1]
    name = name[-120:] or "upload"

    def run() -> Any:
        try:
            text = table_text(raw, name)  # CSV with , ; tab or |, or an .xlsx workbook
        except TableError as exc:
            raise RegistryImportError(name, [(exc.line, exc.message)]) from None
        return IMPORTERS[kind](ctx.session, NamedText(scoped_csv(text, ctx.holder_slug, name=name),
                                                      name))

    # reading a workbook and writing to the store: in the thread pool, never on the event loop
    return _ok(kind, await run_in_threadpool(run))


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


# --- the registry over time ----------------------------------------------------------------------


@router.post("/registry/watches/{watch_id}/edit")
def watch_edit(ctx: Admin, watch_id: Id, terms: Annotated[str, TextLimits(1000, 1), Form()],
               schedule_minutes: Annotated[int, Form(ge=5, le=60 * 24 * 31)]) -> Response:
    w = edit_watch(ctx.scope, watch_id, terms=re.split(r"[|;]", terms),
                   schedule_minutes=schedule_minutes)
    return _ok("watch", f"{' | '.join(w.terms)}, every {w.schedule_minutes} min")


@router.post("/registry/watches/{watch_id}/pause")
def watch_pause(ctx: Admin, watch_id: Id) -> Response:
    set_watch_active(ctx.scope, watch_id, False)
    return _ok("watch", "paused")


@router.post("/registry/watches/{watch_id}/resume")
def watch_resume(ctx: Admin, watch_id: Id) -> Response:
    set_watch_active(ctx.scope, watch_id, True)
    return _ok("watch", "resumed; its next crawl is due now")


@router.post("/registry/sellers/{seller_id}/end")
def seller_end(ctx: Admin, seller_id: Id, ended_on: Annotated[date, Form()]) -> Response:
    a = end_authorisation(ctx.scope, seller_id, ended_on)
    return _ok("authorised seller", f"{a.seller_name} authorised until {ended_on.isoformat()} "
               "(from then on screened like any seller)")


@router.post("/registry/marks/{mark_id}/retire")
def mark_retire(ctx: Admin, mark_id: Id) -> Response:
    m = retire_mark(ctx.scope, mark_id)
    return _ok("mark", f"{m.word_mark} retired: no more screening, its watches paused")
