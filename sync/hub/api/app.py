"""The hub's FastAPI application: `create_app(ctx)` builds it around one HubContext.

Adding a router (the review console's pages, fleet operations, ...): write a module with
`router = APIRouter(...)` and append it to `mounted_routers()` in sync/hub/api/routers.py (an
explicit list: nothing registers itself by being imported). Its handlers take
`ctx: HubCtx` (sync.hub.api.context) for the database, and API-key routes add
`Depends(require_scope(Scope...))` from sync/hub/api/auth.py. A router that serves pages (not
the integrators' API) sets `include_in_schema=False`, so docs/hub-openapi.json (the committed
spec, checked by tests/unit/test_hub_openapi.py) changes only when the integrators' API does.
Errors raised as `ApiError` (sync.hub.api.errors) leave as Didit-style bodies.

The app is served by uvicorn from `poh hub serve --http HOST:PORT` or beside the ingest in
`poh hub run ... --http HOST:PORT` (sync/hub/api/serve.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from sync.hub.api.context import HubContext
from sync.hub.api.errors import install_error_handlers
from sync.hub.api.routers import mounted_routers

API_TITLE = "poh-kiosk hub API (Didit-compatible)"
API_VERSION = "1.0.0"


def create_app(ctx: HubContext) -> FastAPI:
    app = FastAPI(
        title=API_TITLE, version=API_VERSION,
        description=("Decisions of the fleet's sessions in the shape of Didit's v3 API, the "
                     "standalone passive-liveness and face-search APIs run by the hub's own "
                     "models, and the hub's health. Authenticate with `x-api-key`."),
        # the spec is served at /openapi.json; no interactive docs pages (they would load
        # scripts from a CDN, and the hub may have no internet)
        docs_url=None, redoc_url=None,
    )
    app.state.hub = ctx
    install_error_handlers(app)
    for router in mounted_routers():
        app.include_router(router)
    return app
