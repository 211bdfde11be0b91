"""Automation rules: the list in order, a dry run over the last 30 days, adding, applying to the
queue now, pausing and undoing a rule (``db.automation``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.automation import (
    DRY_RUN_DAYS,
    add_rule,
    apply_to_queue,
    dry_run,
    rule_counts,
    rules_of,
    set_rule_active,
    undo_rule,
)
from db.models import Marketplace
from db.verdicts import DISMISS_REASONS
from web.core import Admin, Ctx, Reader, TextLimits
from web.explain import TEMPLATES
from web.pages.common import Id, page

router = APIRouter()

Text = Annotated[str, TextLimits(2000), Form()]
# how the rule list names a condition where its key alone says too little
LABELS = {"in_network": "seller in a network with one we confirmed or have a case against"}


def _list(v: str) -> list[str]:
    return [p.strip() for p in re.split(r"[|;,\n]", v) if p.strip()]


def _conditions(checks: str, min_score: str, max_score: str, marketplaces: list[str],
                sellers: str, kinds: str, known_infringer: bool,
                in_network: bool) -> dict[str, Any]:
    return {"checks": _list(checks), "min_score": min_score or None,
            "max_score": max_score or None, "marketplaces": [m for m in marketplaces if m],
            "sellers": _list(sellers), "kinds": _list(kinds), "known_infringer": known_infringer,
            "in_network": in_network}


def _page(request: Request, ctx: Ctx, code: int = 200, **extra: Any) -> HTMLResponse:
    rules = rules_of(ctx.session, ctx.user.rights_holder_id)
    markets = ctx.session.scalars(sa.select(Marketplace).order_by(Marketplace.code)).all()
    return page(request, "rules.html", ctx, code, rules=rules, counts=rule_counts(ctx.scope, rules),
                markets=markets, reasons=DISMISS_REASONS, checks=sorted(TEMPLATES),
                days=DRY_RUN_DAYS, labels=LABELS, **{"preview": None, "form": {}, "message": None, **extra})


@router.get("/rules")
def rules(request: Request, ctx: Reader, message: Annotated[str, TextLimits(300)] = "") -> HTMLResponse:
    return _page(request, ctx, message=message or None)


@router.post("/rules")
def rules_post(
    request: Request, ctx: Admin,
    do: Annotated[Literal["preview", "save"], Form()],
    name: Annotated[str, TextLimits(100), Form()] = "",
    action: Annotated[Literal["confirm", "dismiss", "review"], Form()] = "dismiss",
    reason: Annotated[str, Form(max_length=40)] = "",
    checks: Text = "", min_score: Annotated[str, Form(max_length=3)] = "",
    max_score: Annotated[str, Form(max_length=3)] = "",
    marketplaces: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    sellers: Text = "", kinds: Text = "",
    known_infringer: Annotated[bool, Form()] = False,
    in_network: Annotated[bool, Form()] = False,
) -> Response:
    """Preview a rule against the last 30 days, or save it (it acts on new alerts from now on)."""
    conditions = _conditions(checks, min_score, max_score, marketplaces[:50], sellers, kinds,
                             known_infringer, in_network)
    form = {"name": name, "action": action, "reason": reason, "checks": checks,
            "min_score": min_score, "max_score": max_score, "marketplaces": marketplaces,
            "sellers": sellers, "kinds": kinds, "known_infringer": known_infringer,
            "in_network": in_network}
    if do == "preview":
        return _page(request, ctx, preview=dry_run(ctx.scope, conditions, action), form=form)
    rule = add_rule(ctx.scope, name=name, action=action, conditions=conditions,
                    reason=reason or None)
    return RedirectResponse(f"/rules?message=rule+{rule.id}+saved", status_code=303)


@router.post("/rules/{rule_id}/apply")
def rule_apply(ctx: Admin, rule_id: Id) -> Response:
    n = len(apply_to_queue(ctx.scope, rule_id))
    return RedirectResponse(f"/rules?message=rule+{rule_id}+moved+{n}+new+alert(s)", status_code=303)


@router.post("/rules/{rule_id}/undo")
def rule_undo(ctx: Admin, rule_id: Id) -> Response:
    n = len(undo_rule(ctx.scope, rule_id))
    return RedirectResponse(f"/rules?message=rule+{rule_id}:+{n}+alert(s)+put+back",
                            status_code=303)


@router.post("/rules/{rule_id}/{state}")
def rule_state(ctx: Admin, rule_id: Id, state: Literal["pause", "resume"]) -> Response:
    set_rule_active(ctx.scope, rule_id, state == "resume")
    return RedirectResponse(f"/rules?message=rule+{rule_id}+{state}d", status_code=303)
