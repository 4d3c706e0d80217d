"""GET /v3/session/{session_id}/decision/: the session's decision in Didit's v3 shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from sync.hub.api.auth import require_scope
from sync.hub.api.context import HubCtx
from sync.hub.api.decisions import load_decision
from sync.hub.api.defs.decision import Decision
from sync.hub.api.defs.errors import error_responses
from sync.hub.api.errors import ApiError
from sync.hub.api.keys import Scope

router = APIRouter(tags=["sessions"])


@router.get("/v3/session/{session_id}/decision/", response_model=Decision,
            dependencies=[Depends(require_scope(Scope.DECISIONS))],
            responses=error_responses(401, 403, 404),
            summary="A session's decision (Didit v3 shape)")
def get_decision(ctx: HubCtx,
                 session_id: Annotated[str, Path(min_length=1, max_length=100)]) -> Decision:
    with ctx.engine.connect() as conn:
        decision = load_decision(conn, session_id)
    if decision is None:
        raise ApiError(404, "Not found.", "not_found")
    return decision
