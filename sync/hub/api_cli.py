"""`poh hub serve`, `poh hub api-key ...`, `poh hub webhooks ...` and `poh hub run --http`:
the hub's HTTP API and webhook delivery from the command line (mounted on sync.hub.cli)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Annotated

import typer

from sync.hub.api.context import HubContext
from sync.hub.api.errors import HubInputError
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.db import open_engine

log = logging.getLogger(__name__)

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL: sqlite:///hub.db (default) "
                                    "or postgresql+psycopg://user@host/db")]
DEFAULT_DB = "sqlite:///hub.db"
BadInput = HubInputError  # every bad-input error of these commands (exit 2)


@contextlib.contextmanager
def http_beside(db_url: str, http: str | None) -> Iterator[None]:
    """While the body runs (the ingest workers), serve the API on `http` (HOST:PORT)."""
    if http is None:
        yield
        return
    address = HttpAddress.parse(http)
    engine = open_engine(db_url)
    server = BackgroundServer(HubContext(engine), address)
    server.start()
    try:
        yield
    finally:
        server.stop()
        engine.dispose()


def serve(
    http: Annotated[str, typer.Option("--http", help="HOST:PORT to listen on")
                    ] = "127.0.0.1:8080",
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Serve the HTTP API (and deliver webhooks) until SIGTERM or Ctrl-C, without the ingest."""
    address = HttpAddress.parse(http)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with http_beside(db, f"{address.host}:{address.port}"):
        stop.wait()


def mount(app: typer.Typer) -> None:
    app.command(name="serve")(serve)
