"""The webhook queue for admin keys: deliveries (failed ones by `?state=failed`) and resend
(same event_id). The review console shows the same through sync.hub.webhooks.admin."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from sync.hub.api.auth import require_scope
from sync.hub.api.context import HubCtx
from sync.hub.api.defs.errors import error_responses
from sync.hub.api.defs.response import Delivery, DeliveryList, Resent
from sync.hub.api.errors import ApiError, HubInputError
from sync.hub.api.keys import Scope
from sync.hub.webhooks import admin

router = APIRouter(tags=["webhooks"], dependencies=[Depends(require_scope(Scope.ADMIN))])


@router.get("/hub/v1/webhook-deliveries/", response_model=DeliveryList,
            responses=error_responses(400, 401, 403), summary="Webhook deliveries")
def list_deliveries(
    ctx: HubCtx,
    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    rows = admin.deliveries(ctx.engine, state, limit)
    return DeliveryList(results=[Delivery(**{k: r[k] for k in Delivery.model_fields})
                                 for r in rows])


@router.post("/hub/v1/webhook-deliveries/{event_id}/resend/", response_model=Resent,
             responses=error_responses(401, 403, 404), summary="Send an event again")
def resend(ctx: HubCtx, event_id: Annotated[str, Path(min_length=1, max_length=36)]) -> Resent:
    try:
        return Resent(queued=admin.resend(ctx.engine, event_id))
    except HubInputError as exc:
        raise ApiError(404, str(exc), "not_found") from None
