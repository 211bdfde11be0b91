"""The registry: marks and watches."""

from __future__ import annotations

from fastapi import APIRouter

from db.models import Mark, Watch
from db.registry import add_mark, add_watch
from db.registry_lifecycle import edit_watch, end_authorisation, retire_mark, set_watch_active
from web.core import Admin, Reader
from web.v1.schemas import EndIn, Id, MarkIn, MarkOut, SellerOut, WatchEdit, WatchIn, WatchOut

router = APIRouter()


@router.get("/marks", response_model=list[MarkOut])
def marks(ctx: Reader) -> list[MarkOut]:
    return [_mark_out(m) for m in ctx.session.scalars(ctx.scope.select(Mark).order_by(Mark.id))]


def _mark_out(m: Mark) -> MarkOut:
    return MarkOut(mark_id=m.id, mark=m.word_mark, aliases=m.aliases,
                   registration_number=m.registration_number, office=m.office,
                   nice_classes=m.nice_classes, jurisdictions=m.jurisdictions,
                   status=m.status.value, expires_on=m.expires_on,
                   retired=m.retired_at is not None)


@router.post("/marks", response_model=MarkOut, status_code=201)
def add_mark_api(ctx: Admin, body: MarkIn) -> MarkOut:
    """Register (or update) a mark of your rights holder, with the CLI's validation."""
    res = add_mark(ctx.session, rights_holder=ctx.holder_slug, mark=body.mark,
                   registration_number=body.registration_number, office=body.office,
                   nice_classes=body.nice_classes, aliases=body.aliases,
                   jurisdictions=body.jurisdictions, expires_on=body.expires_on,
                   famous=body.famous)
    return _mark_out(ctx.scope.get(Mark, res.ids[0]))


@router.get("/watches", response_model=list[WatchOut])
def watches(ctx: Reader) -> list[WatchOut]:
    return [WatchOut(watch_id=w.id, mark_id=w.mark_id, marketplace_id=w.marketplace_id,
                     terms=w.terms, schedule_minutes=w.schedule_minutes, active=w.active)
            for w in ctx.session.scalars(ctx.scope.select(Watch).order_by(Watch.id))]


@router.post("/watches", response_model=WatchOut, status_code=201)
def add_watch_api(ctx: Admin, body: WatchIn) -> WatchOut:
    res = add_watch(ctx.session, rights_holder=ctx.holder_slug,
                    mark_registration=body.mark_registration, marketplace=body.marketplace,
                    terms=body.terms, schedule_minutes=body.schedule_minutes)
    w = ctx.scope.get(Watch, res.ids[0])
    return WatchOut(watch_id=w.id, mark_id=w.mark_id, marketplace_id=w.marketplace_id,
                    terms=w.terms, schedule_minutes=w.schedule_minutes, active=w.active)


@router.patch("/watches/{watch_id}", response_model=WatchOut)
def edit_watch_api(ctx: Admin, watch_id: Id, body: WatchEdit) -> WatchOut:
    """Change a watch's search terms or schedule."""
    return _watch_out(edit_watch(ctx.scope, watch_id, terms=body.terms,
                                 schedule_minutes=body.schedule_minutes))


@router.post("/watches/{watch_id}/pause", response_model=WatchOut)
def pause_watch_api(ctx: Admin, watch_id: Id) -> WatchOut:
    return _watch_out(set_watch_active(ctx.scope, watch_id, False))


@router.post("/watches/{watch_id}/resume", response_model=WatchOut)
def resume_watch_api(ctx: Admin, watch_id: Id) -> WatchOut:
    """Resume a paused watch: its next crawl is due at once (409 for a retired mark's)."""
    return _watch_out(set_watch_active(ctx.scope, watch_id, True))


@router.post("/sellers/{seller_id}/end", response_model=SellerOut)
def end_seller_api(ctx: Admin, seller_id: Id, body: EndIn) -> SellerOut:
    """End a seller's authorisation: from ``ended_on`` it is screened like any other."""
    a = end_authorisation(ctx.scope, seller_id, body.ended_on)
    return SellerOut(seller_id=a.id, seller=a.seller_name,
                     marketplace_id=a.marketplace_id, ended_on=a.ended_on)


@router.post("/marks/{mark_id}/retire", response_model=MarkOut)
def retire_mark_api(ctx: Admin, mark_id: Id) -> MarkOut:
    """Stop enforcing a mark: no screening against it, its watches paused, no notice on it."""
    return _mark_out(retire_mark(ctx.scope, mark_id))


def _watch_out(w: Watch) -> WatchOut:
    return WatchOut(watch_id=w.id, mark_id=w.mark_id, marketplace_id=w.marketplace_id,
                    terms=w.terms, schedule_minutes=w.schedule_minutes, active=w.active)
