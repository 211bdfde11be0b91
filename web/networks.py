"""Seller networks as a rights holder sees them: the accounts, marketplaces, the holder's open
alerts on them, what links them, and cases built from the network's confirmed alerts."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from db.enforcement import CaseAlert
from db.models import Alert, AlertStatus, Listing
from db.networks import holder_networks, member_listings, network_view
from web.app import templates
from web.core import MAX_ID, Reader

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/networks")
def networks(request: Request, ctx: Reader) -> HTMLResponse:
    return templates.TemplateResponse(request, "networks.html",
                                      {"ctx": ctx, "views": holder_networks(ctx.scope)})


@router.get("/networks/{network_id}")
def network(request: Request, ctx: Reader, network_id: Id) -> HTMLResponse:
    view = network_view(ctx.scope, network_id)
    s = ctx.session
    in_case = sa.select(CaseAlert.alert_id)
    caseable = s.scalars(
        ctx.scope.select(Alert).where(Alert.listing_id.in_(member_listings(network_id)),
                                      Alert.status == AlertStatus.CONFIRMED,
                                      Alert.id.not_in(in_case)).order_by(Alert.id)
    ).all()
    listings = {li.id: li for li in s.scalars(
        sa.select(Listing).where(Listing.id.in_([a.listing_id for a in view.open_alerts])))}
    return templates.TemplateResponse(request, "network.html", {
        "ctx": ctx, "v": view, "caseable": caseable, "listings": listings})
