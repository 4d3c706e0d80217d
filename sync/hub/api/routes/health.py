"""GET /health: the hub answers and its database can be read (no key needed; says nothing
about any session)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from sync.hub.api.context import HubCtx
from sync.hub.api.defs.response import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The hub answers and reads its database")
def health(ctx: HubCtx) -> Health:
    with ctx.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return Health(status="ok")
