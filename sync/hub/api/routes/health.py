"""GET /health: the hub's health checks (sync.hub.health: database, broker links of the ingest,
webhook queue, disk), 200 when none fails and 503 when one does, each check with its status
and a one-line detail. No key needed: it says nothing about any session or person, and a
load balancer or systemd's watchdog script must be able to ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sync.hub.api.context import HubCtx
from sync.hub.api.defs.response import Health, HealthCheck
from sync.hub.health import hub_checks, overall

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "A check failed"}},
            summary="The hub's health checks: 200 when none fails, 503 when one does")
def health(ctx: HubCtx) -> JSONResponse:
    checks = hub_checks(ctx.engine, ctx.live)
    status = overall(checks)
    body = Health(status=status, checks=[HealthCheck(check=c.check, status=c.status,
                                                     detail=c.detail) for c in checks])
    return JSONResponse(body.model_dump(), status_code=503 if status == "FAIL" else 200)
