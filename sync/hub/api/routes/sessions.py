"""GET /v3/sessions/: sessions by status and time, newest first, limit/offset pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from sync.hub.api.auth import require_scope
from sync.hub.api.context import HubCtx
from sync.hub.api.defs.errors import error_responses
from sync.hub.api.defs.response import SessionList, SessionSummary
from sync.hub.api.errors import ApiError
from sync.hub.api.keys import Scope
from sync.hub.webhooks.tables import hub_sessions
from sync.vocabulary import SessionStatus

router = APIRouter(tags=["sessions"])
MAX_LIMIT = 100


def _iso(value: datetime | None, name: str) -> str | None:
    """A time filter as the stored form (UTC, milliseconds, Z), comparable as text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ApiError(400, f"{name}: give a time zone (e.g. 2026-01-01T00:00:00Z)",
                       "invalid_request")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get("/v3/sessions/", response_model=SessionList,
            dependencies=[Depends(require_scope(Scope.DECISIONS))],
            responses=error_responses(400, 401, 403), summary="List sessions")
def list_sessions(
    request: Request, ctx: HubCtx,
    status: Annotated[list[SessionStatus] | None, Query(
        description="Didit's status, e.g. `In Review`; repeat for several")] = None,
    vendor_data: Annotated[str | None, Query(max_length=500)] = None,
    created_after: Annotated[datetime | None, Query(
        description="ISO 8601 with a zone: sessions created at or after")] = None,
    created_before: Annotated[datetime | None, Query(
        description="ISO 8601 with a zone: sessions created before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**53 - 1)] = 0,
) -> SessionList:
    s = hub_sessions
    cond: list[sa.ColumnElement[bool]] = []
    if status:
        cond.append(s.c.status.in_([x.value for x in status]))
    if vendor_data is not None:
        cond.append(s.c.vendor_data == vendor_data)
    after, before = _iso(created_after, "created_after"), _iso(created_before, "created_before")
    if after is not None:
        cond.append(s.c.created_at >= after)
    if before is not None:
        cond.append(s.c.created_at < before)
    with ctx.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(s).where(*cond)).scalar_one()
        rows = conn.execute(sa.select(s).where(*cond).order_by(
            s.c.created_at.desc(), s.c.session_number.desc()).limit(limit).offset(offset)).all()
    results = [SessionSummary(
        session_id=r.session_id, session_number=r.session_number, status=r.status,
        vendor_data=r.vendor_data, workflow_id=r.workflow_id,
        workflow_version=r.workflow_version, device_id=r.device_id,
        created_at=r.created_at, updated_at=r.updated_at) for r in rows]

    def page(at: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
        return f"{request.url.path}?{urlencode([*params, ('offset', str(at))])}"
    return SessionList(
        count=count, results=results,
        next=page(offset + limit) if offset + limit < count else None,
        previous=page(max(offset - limit, 0)) if offset > 0 else None)
