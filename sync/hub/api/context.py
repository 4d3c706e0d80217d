"""What every route of the hub's HTTP API shares: the database engine and the API's limits.

One `HubContext` is made by whoever serves the API (`poh hub run --http`, `poh hub serve`, a
test) and handed to `create_app`; routes reach it with the `hub_context` dependency. Nothing
is cached at module level (two apps on two databases can live in one process, as tests do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request

from sync.hub.api.metrics import HubMetrics
from sync.hub.live_state import LiveState
from sync.hub.webhooks.dispatcher import Dispatcher


@dataclass(frozen=True)
class ApiLimits:
    """Didit's standalone APIs take images up to 5 MB; so do we."""

    max_image_bytes: int = 5 * 1024 * 1024
    max_page_size: int = 100
    default_page_size: int = 20


@dataclass
class HubContext:
    """The engine the API reads and writes, its limits, and (made on first use, because
    compiling the face models takes seconds) the face analysis of the standalone APIs."""

    engine: sa.Engine
    limits: ApiLimits = field(default_factory=ApiLimits)
    # builds the standalone analysis (sync.hub.api.standalone_engine.StandaloneEngine); a test
    # may pass its own factory to share one compiled pipeline between apps
    analysis_factory: Callable[[], Any] | None = None
    # builds the fleet's face search (sync.hub.api.fleet_search.FleetFaceSearch); None: this
    # hub serves no face search (it raises FaceSearchDisabled, the API answers 403)
    fleet_search_factory: Callable[[], Any] | None = None
    # opens the review frames kept at rest (sync.hub.evidence.EvidenceVault, from the hub's
    # signing key); None: this console cannot show them
    evidence_vault: Any = None
    # what only the running hub knows (ingest counters, broker links) and its webhook
    # dispatcher, read by /health and /metrics; None where this process runs no ingest /
    # delivers no webhooks
    live: LiveState | None = None
    dispatcher: Dispatcher | None = None
    _analysis: Any = None
    _fleet_search: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    metrics: HubMetrics = field(init=False)

    def __post_init__(self) -> None:
        # cheap (a registry; the collectors read only at a scrape), so made with the context
        self.metrics = HubMetrics(self.engine, self.live, self.dispatcher)

    def analysis(self) -> Any:
        """The compiled face pipeline for the standalone APIs (made once, on first use)."""
        with self._lock:
            if self._analysis is None:
                if self.analysis_factory is None:
                    from sync.hub.api.standalone_engine import StandaloneEngine
                    self._analysis = StandaloneEngine.from_defaults()
                else:
                    self._analysis = self.analysis_factory()
            return self._analysis


    def fleet_search(self) -> Any:
        """The fleet face search (made once); FaceSearchDisabled when the hub has none."""
        from sync.hub.api.fleet_search import FaceSearchDisabled

        with self._lock:
            if self._fleet_search is None:
                if self.fleet_search_factory is None:
                    raise FaceSearchDisabled(
                        "face search is not enabled at this hub: it serves no fleet's "
                        "templates (start it with --hub-dir and --fleet of a fleet whose "
                        "operator ran poh fleet hub-face-search)")
                self._fleet_search = self.fleet_search_factory()
            return self._fleet_search


def hub_context(request: Request) -> HubContext:
    """FastAPI dependency: the context the app was created with."""
    ctx: HubContext = request.app.state.hub
    return ctx


# the annotation routes use: `def route(ctx: HubCtx) -> ...`
HubCtx = Annotated[HubContext, Depends(hub_context)]
