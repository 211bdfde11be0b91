"""Notices: the document, its listings, sending it and recording the marketplace's answer."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.cases import (
    case_view,
)
from db.enforcement import Notice, RightsDocument
from db.notices import record_answer
from markwatch.notice_pdf import PdfUnavailable, notice_pdf
from markwatch.notices import status_label
from web import services
from web.app import SANDBOX_CSP
from web.core import (
    Reader,
    Reviewer,
    TextLimits,
)
from web.pages.common import Id, page

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/notices/{notice_id}")
def notice_page(request: Request, ctx: Reader, notice_id: Id) -> HTMLResponse:
    n = ctx.scope.get(Notice, notice_id)
    v = case_view(ctx.scope, n.case_id)
    docs = ctx.session.scalars(
        ctx.scope.select(RightsDocument).where(RightsDocument.id.in_(n.document_ids))
    ).all()
    return page(request, "notice.html", ctx, n=n, v=v, answers=v.answers.get(n.id, []),
                docs=docs, today=date.today(), label=status_label(n.status.value, n.sender))


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


@router.get("/notices/{notice_id}/document.pdf")
def notice_pdf_document(ctx: Reader, notice_id: Id) -> Response:
    """The notice printed to PDF (as marketplaces' intake forms ask for it)."""
    n = ctx.scope.get(Notice, notice_id)
    try:
        body = notice_pdf(n.html)
    except PdfUnavailable as exc:
        log.error("notice %s: %s", notice_id, exc)
        raise HTTPException(503, str(exc)) from None
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="notice-{n.id}.pdf"',
        "Content-Security-Policy": SANDBOX_CSP})


@router.post("/notices/{notice_id}/send")
def send(request: Request, ctx: Reviewer, notice_id: Id,
         signatory: Annotated[str, TextLimits(200), Form()] = "",
         without_documents: Annotated[bool, Form()] = False) -> Response:
    services.send(ctx, request.app, notice_id, signatory=signatory or None,
                  without_documents=without_documents)
    return RedirectResponse(f"/notices/{notice_id}", status_code=303)


@router.post("/notices/{notice_id}/answers")
def answer(ctx: Reviewer, notice_id: Id,
           outcome: Annotated[Literal["removed", "rejected", "more_info"], Form()],
           note: Annotated[str, TextLimits(2000), Form()] = "",
           answered_on: Annotated[date | None, Form()] = None) -> Response:
    record_answer(ctx.scope, notice_id, outcome, note=note, answered_on=answered_on)
    return RedirectResponse(f"/notices/{notice_id}", status_code=303)
