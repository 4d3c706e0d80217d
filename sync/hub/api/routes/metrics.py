"""GET /metrics: the hub's Prometheus metrics (sync.hub.api.metrics), text exposition format.
No key: Prometheus scrapes without Didit's x-api-key header, and the series are counts, states
and booth ids, nothing about a session or a person. Serve --http on an address only the
monitoring network reaches (README: Hub API and webhooks). Not part of the integrators' API,
so not in the OpenAPI spec."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from sync.hub.api.context import HubCtx
from sync.hub.api.metrics import CONTENT_TYPE

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(ctx: HubCtx) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)
