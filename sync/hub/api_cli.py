"""`poh hub serve`, `poh hub api-key ...`, `poh hub webhooks ...` and `poh hub run --http`:
the hub's HTTP API and webhook delivery from the command line (mounted on sync.hub.cli)."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from sync.hub.api import keys
from sync.hub.api.context import HubContext
from sync.hub.api.errors import HubInputError
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.db import open_engine
from sync.hub.live_state import LiveState
from sync.hub.webhooks import admin
from sync.hub.webhooks.dispatcher import Dispatcher, DispatcherThread, RetryPolicy

log = logging.getLogger(__name__)

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL: sqlite:///hub.db (default) "
                                    "or postgresql+psycopg://user@host/db")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RetryOpt = Annotated[float, typer.Option(
    "--webhook-retry-max", min=1.0, max=86400.0,
    help="Longest wait between two attempts of a webhook, seconds (back-off from 5 s)")]
DEFAULT_DB = "sqlite:///hub.db"
BadInput = HubInputError  # every bad-input error of these commands (exit 2)

api_key_app = typer.Typer(help="API keys of the integrators (x-api-key).", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints and deliveries.", no_args_is_help=True)


def _emit(obj: Any, as_json: bool, text: str) -> None:
    sys.stdout.write((json.dumps(obj, indent=2, default=str) if as_json else text) + "\n")


@contextlib.contextmanager
def http_beside(db_url: str, http: str | None, retry_max_s: float = 3600.0,
                hub_dir: Path | None = None, fleet: str = "+",
                signing_key: Path | None = None, live: LiveState | None = None
                ) -> Iterator[None]:
    """While the body runs (the ingest workers), serve the API on `http` (HOST:PORT) and
    deliver the queued webhooks. With the hub folder of one fleet, the face search serves
    that fleet (if its operator enabled it; else it answers 403). With the hub's signing key
    (else hub_dir/signing.key), the review console shows the booths' review frames. `live`:
    the ingest workers' counters and links, for /health and /metrics."""
    if http is None:
        yield
        return
    address = HttpAddress.parse(http)
    engine = open_engine(db_url)
    dispatcher = DispatcherThread(Dispatcher(engine, RetryPolicy(max_s=retry_max_s)))
    server = BackgroundServer(HubContext(
        engine, fleet_search_factory=face_search_factory(engine, hub_dir, fleet),
        evidence_vault=evidence_vault(signing_key or (
            hub_dir / "signing.key" if hub_dir is not None else None)),
        live=live, dispatcher=dispatcher.dispatcher), address)
    server.start()
    dispatcher.start()
    try:
        yield
    finally:
        dispatcher.stop()
        server.stop()
        engine.dispose()


def evidence_vault(signing_key: Path | None) -> Any:
    """What opens the review frames at rest (None without the hub's signing key)."""
    if signing_key is None or not signing_key.is_file():
        return None
    from sync.hub.evidence import EvidenceVault
    from sync.hub.service import load_signing_key

    return EvidenceVault(load_signing_key(signing_key))


def face_search_factory(engine: Any, hub_dir: Path | None, fleet: str
                        ) -> Callable[[], Any] | None:
    """What builds the fleet face search of `poh hub serve|run` (None: no fleet given)."""
    if hub_dir is None or fleet == "+":
        return None
    from sync.hub.api.fleet_search import FleetFaceSearch

    return lambda: FleetFaceSearch.from_hub_dir(engine, hub_dir, fleet)


def serve(
    http: Annotated[str, typer.Option("--http", help="HOST:PORT to listen on")
                    ] = "127.0.0.1:8080",
    db: DbOpt = DEFAULT_DB,
    webhook_retry_max: RetryOpt = 3600.0,
    hub_dir: Annotated[Path | None, typer.Option(
        "--hub-dir", help="FLEET_DIR/hub, for the face search of --fleet")] = None,
    fleet: Annotated[str, typer.Option(help="The fleet whose templates the face search "
                                            "searches")] = "+",
) -> None:
    """Serve the HTTP API and deliver webhooks until SIGTERM or Ctrl-C (no ingest)."""
    address = HttpAddress.parse(http)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with http_beside(db, f"{address.host}:{address.port}", webhook_retry_max, hub_dir, fleet):
        stop.wait()


@api_key_app.command("add")
def api_key_add(
    name: Annotated[str, typer.Argument(help="The integrator's name (one key each)")],
    scope: Annotated[list[str], typer.Option(
        "--scope", help="decisions:read, standalone, admin (repeat for several)")],
    db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once (only its hash is kept)."""
    token = keys.create_key(open_engine(db), name, keys.parse_scopes(scope))
    _emit({"name": name, "api_key": token}, as_json, token)


@api_key_app.command("list")
def api_key_list(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """The keys (never their secrets)."""
    rows = keys.list_keys(open_engine(db, create=False))
    _emit(rows, as_json, "\n".join(
        f"{r['name']}: poh_{r['key_id']}_..., {' '.join(r['scopes'])}"
        + (f", REVOKED {r['revoked_at']}" if r["revoked_at"] else "") for r in rows)
        or "no API keys")


@api_key_app.command("revoke")
def api_key_revoke(name: str, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Refuse the key from now on (401)."""
    keys.revoke_key(open_engine(db, create=False), name)
    _emit({"revoked": name}, as_json, f"revoked the API key of {name}")


@webhooks_app.command("add")
def webhooks_add(name: str, url: str, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False
                 ) -> None:
    """Send every later status change to URL; prints the signing secret once."""
    secret = admin.add_endpoint(open_engine(db), name, url)
    _emit({"name": name, "url": url, "secret": secret}, as_json,
          f"webhook secret (verify X-Signature-V2 with it): {secret}")


@webhooks_app.command("endpoints")
def webhooks_endpoints(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """The webhook endpoints."""
    rows = admin.endpoints(open_engine(db, create=False))
    _emit(rows, as_json, "\n".join(
        f"{r['name']}: {r['url']}{'' if r['enabled'] else ' (disabled)'}" for r in rows)
        or "no webhook endpoints")


@webhooks_app.command("disable")
def webhooks_disable(name: str, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """No new events for this endpoint (queued ones are still delivered)."""
    admin.set_enabled(open_engine(db, create=False), name, False)
    _emit({"disabled": name}, as_json, f"webhook endpoint {name} disabled")


@webhooks_app.command("list")
def webhooks_list(
    state: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False,
) -> None:
    """Deliveries, newest first (failed ones: --state failed)."""
    rows = admin.deliveries(open_engine(db, create=False), state, limit)
    _emit(rows, as_json, "\n".join(
        f"{r['event_id']} {r['endpoint']} {r['webhook_type']} {r['status']} "
        f"session {r['session_id']}: {r['state']} after {r['attempts']} attempt(s)"
        + (f", last {r['last_error']}" if r["last_error"] else "") for r in rows)
        or "no deliveries")


@webhooks_app.command("resend")
def webhooks_resend(
    event_id: Annotated[str | None, typer.Argument(help="the event to send again")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="every failed delivery")
                          ] = False,
    endpoint: Annotated[str | None, typer.Option(help="only to this endpoint")] = None,
    db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False,
) -> None:
    """Queue deliveries again, with the same event_id (the running hub sends them)."""
    n = admin.resend(open_engine(db, create=False), event_id, endpoint=endpoint,
                     all_failed=all_failed)
    _emit({"queued": n}, as_json, f"queued {n} deliver{'y' if n == 1 else 'ies'}")


def mount(app: typer.Typer) -> None:
    app.command(name="serve")(serve)
    app.add_typer(api_key_app, name="api-key")
    app.add_typer(webhooks_app, name="webhooks")
