"""Cases, their notices and counter-notices."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db.cases import build_cases, case_view, close_case, list_cases
from db.enforcement import Notice
from db.notices import record_answer, record_counter_notice, resolve_counter_notice
from web import services
from web.core import Reader, Reviewer
from web.v1.schemas import (
    AnswerIn,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CloseIn,
    CounterIn,
    CounterNoticeOut,
    GenerateIn,
    Id,
    NoticeOut,
    ResolveIn,
    SendIn,
    counter_notice_out,
    events_out,
    notice_out,
)

router = APIRouter()


@router.get("/cases", response_model=list[CaseOut])
def cases(ctx: Reader, status: Literal["open", "notice_sent", "answered", "closed", "reopened"] | None = None) -> list[CaseOut]:
    rows = services.case_export_rows(ctx, list_cases(ctx.scope, status=status))
    return [CaseOut(**r) for r in rows]


@router.post("/cases", response_model=list[CaseOut], status_code=201)
def create_cases(ctx: Reviewer, body: CaseIn) -> list[CaseOut]:
    """Group confirmed alerts into cases (per seller or per marketplace)."""
    ids = set(build_cases(ctx.scope, body.alert_ids, group_by=body.group_by))
    rows = services.case_export_rows(ctx, [(c, n) for c, n in list_cases(ctx.scope) if c.id in ids])
    return [CaseOut(**r) for r in rows]


@router.get("/cases/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_cases(ctx: Reader, format: Literal["json", "csv"] = "csv") -> Response:
    rows = services.case_export_rows(ctx, list_cases(ctx.scope, limit=100_000))
    if format == "json":
        return Response(json.dumps(rows, ensure_ascii=False), media_type="application/json")
    return Response(services.csv_text(services.CASE_EXPORT_COLUMNS, rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


def _case_detail(ctx: Any, case_id: int) -> CaseDetailOut:
    v = case_view(ctx.scope, case_id)
    base = services.case_export_rows(ctx, [(v.case, len(v.members))])[0]
    return CaseDetailOut(
        **base, alert_ids=[m[1].id for m in v.members],
        notices=[notice_out(n, v.answers.get(n.id)) for n in v.notices],
        counter_notices=[counter_notice_out(c) for c in v.counter_notices], events=events_out(v.events),
    )


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def case(ctx: Reader, case_id: Id) -> CaseDetailOut:
    return _case_detail(ctx, case_id)


@router.post("/cases/{case_id}/notices", response_model=list[NoticeOut], status_code=201)
def generate(ctx: Reviewer, case_id: Id, body: GenerateIn | None = None) -> list[NoticeOut]:
    """Draft notices for the case's listings not yet in one, split at the marketplace's limit."""
    notices = services.generate_notices(ctx, case_id, limit=body.limit if body else None)
    return [notice_out(n) for n in notices]


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close(ctx: Reviewer, case_id: Id, body: CloseIn) -> CaseOut:
    c = close_case(ctx.scope, case_id, body.reason)
    return CaseOut(**services.case_export_rows(ctx, [(c, len(c.members))])[0])


@router.post("/cases/{case_id}/counter-notices", response_model=CounterNoticeOut, status_code=201)
def counter_notice(ctx: Reviewer, case_id: Id, body: CounterIn) -> CounterNoticeOut:
    """Record a seller's counter-notice and its deadline."""
    c = record_counter_notice(ctx.scope, case_id, seller=body.seller, received_on=body.received_on,
                              deadline=body.deadline, statement=body.statement)
    return counter_notice_out(c)


@router.post("/counter-notices/{counter_notice_id}/resolve", response_model=CounterNoticeOut)
def resolve(ctx: Reviewer, counter_notice_id: Id, body: ResolveIn) -> CounterNoticeOut:
    """Reply to, withdraw before, or accept a counter-notice."""
    return counter_notice_out(resolve_counter_notice(ctx.scope, counter_notice_id, body.status, body.resolution))


# --- notices -----------------------------------------------------------------------------------


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def notice(ctx: Reader, notice_id: Id) -> NoticeOut:
    n = ctx.scope.get(Notice, notice_id)
    v = case_view(ctx.scope, n.case_id)
    return notice_out(n, v.answers.get(n.id))


@router.post("/notices/{notice_id}/send", response_model=NoticeOut, status_code=202)
def send_notice(ctx: Reviewer, notice_id: Id, request: Request,
                body: SendIn | None = None) -> NoticeOut:
    """Sign and send the notice once: a draft is signed by ``signatory`` (your account's name
    when left out), queued and sent after commit; any other state is 409. A notice with no rights
    documents attached is refused (409) unless ``without_documents`` is true."""
    body = body or SendIn()
    return notice_out(services.send(ctx, request.app, notice_id, signatory=body.signatory,
                                    without_documents=body.without_documents))


@router.post("/notices/{notice_id}/answers", response_model=NoticeOut, status_code=201)
def answer(ctx: Reviewer, notice_id: Id, body: AnswerIn) -> NoticeOut:
    """Record the marketplace's answer: removed, rejected or more information needed."""
    record_answer(ctx.scope, notice_id, body.outcome, note=body.note, answered_on=body.answered_on)
    n = ctx.scope.get(Notice, notice_id)
    return notice_out(n, case_view(ctx.scope, n.case_id).answers.get(n.id))
