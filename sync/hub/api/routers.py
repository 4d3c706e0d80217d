"""The explicit list of routers the hub's app mounts (no registration by import side effect).

To add a router (e.g. the review console's pages): write `sync/hub/<part>/routes.py` with
`router = APIRouter(...)`, import it here and append it to the list in `mounted_routers()`.
Its routes reach the shared context with `ctx: HubCtx` (sync.hub.api.context) and,
for API-key routes, `Depends(require_scope(Scope.X))` (sync.hub.api.auth). Pages that are not
part of the integrators' API pass `include_in_schema=False` to their router, so the committed
OpenAPI spec (docs/hub-openapi.json) stays the integrators' contract.
"""

from __future__ import annotations

from fastapi import APIRouter


def mounted_routers() -> list[APIRouter]:
    from sync.hub.api.routes import (
        decisions,
        deliveries,
        face_search,
        health,
        metrics,
        sessions,
        standalone,
    )
    from sync.hub.console import fleet_routes
    from sync.hub.console import routes as console
    return [decisions.router, sessions.router, standalone.router, face_search.router,
            deliveries.router,
            health.router, metrics.router, console.router, fleet_routes.router]
