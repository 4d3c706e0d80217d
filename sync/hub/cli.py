"""`poh hub ...` (routed by app.launcher): run the hub workers and look at what the hub holds.

Exit codes as the product CLI: 0 ok, 2 bad input (one line on stderr), 1 internal failure.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from sync.device_key import public_key_from_text
from sync.hub import api_cli, console_cli, fleet_cli, registry, report
from sync.hub.db import HubDatabaseError, open_engine
from sync.hub.live_state import LiveState
from sync.hub.service import HubConfigError, HubRun, run_workers
from sync.strict_json import InputError, read_json_file
from sync.transport import TlsFiles
from sync.transport.settings import BrokerSettings, BrokerUrlError

log = logging.getLogger(__name__)

app = typer.Typer(name="poh hub", help="The fleet's hub: verdict ingest and its records.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(fleet_cli.app, name="fleet")  # fleet-wide uniqueness (sync.hub.fleet_cli)
api_cli.mount(app)  # HTTP API, API keys and webhooks (sync.hub.api_cli)
console_cli.mount(app)  # console accounts, devices, workflows, erasures (sync.hub.console_cli)

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL: sqlite:///hub.db (default) "
                                    "or postgresql+psycopg://user@host/db")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DEFAULT_DB = "sqlite:///hub.db"


class HubInputError(ValueError):
    pass


def _emit(obj: Any, as_json: bool, text: str) -> None:
    sys.stdout.write((json.dumps(obj, indent=2, default=str) if as_json else text) + "\n")


@app.command()
def run(
    broker: Annotated[str, typer.Option("--broker", help="mqtts://host:port (or mqtt://)")],
    db: DbOpt = DEFAULT_DB,
    hub_dir: Annotated[Path | None, typer.Option(
        "--hub-dir", help="FLEET_DIR/hub: ca.crt, hub.crt, hub.key, signing.key")] = None,
    signing_key: Annotated[Path | None, typer.Option(help="Ed25519 PEM (else in --hub-dir)")
                           ] = None,
    fleet: Annotated[str, typer.Option(help="Fleet id, or + for every fleet")] = "+",
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes")] = 1,
    batch: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    client_id: Annotated[str, typer.Option(
        "--client-id", help="MQTT client id prefix of the workers (PREFIX-0, PREFIX-1, ...): "
        "one per hub machine, since a second client with an id in use takes its session")
    ] = "hub",
    http: Annotated[str | None, typer.Option(
        "--http", help="HOST:PORT: also serve the HTTP API and deliver webhooks")] = None,
    webhook_retry_max: api_cli.RetryOpt = 3600.0,
) -> None:
    """Ingest verdicts until stopped (SIGTERM or Ctrl-C)."""
    key = signing_key or (hub_dir / "signing.key" if hub_dir else None)
    if key is None:
        raise HubInputError("give --hub-dir or --signing-key (the hub's Ed25519 key)")
    tls = None
    if hub_dir is not None:
        tls = TlsFiles(hub_dir / "ca.crt", hub_dir / "hub.crt", hub_dir / "hub.key")
        missing = [p for p in (tls.ca, tls.cert, tls.key) if p and not p.is_file()]
        if missing:
            raise HubInputError(f"{missing[0]}: no such file")
    BrokerSettings.from_url(broker, "hub", tls)  # checks the URL (mqtts needs --hub-dir)
    if not client_id or any(c in client_id for c in "/+#\x00"):
        raise HubInputError(f"--client-id {client_id!r}: letters, digits, '-', '.', '_'")
    live = LiveState(workers) if http is not None else None  # read by /health, /metrics
    with api_cli.http_beside(db, http, webhook_retry_max, hub_dir, fleet, key, live):
        run_workers(HubRun(broker, db, key, fleet, tls, client_id=client_id, batch=batch),
                    workers, live)


@app.command()
def status(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Stored verdicts per device, refusals by reason, registered devices."""
    st = report.status(open_engine(db, create=False))
    lines = [f"verdicts stored: {st['verdicts']}"]
    lines += [f"  {d['fleet']}/{d['device']}: {d['verdicts']} (highest sequence "
              f"{d['max_sequence']})" for d in st["by_device"]]
    lines += [f"refused: {r['verdicts']} verdicts, {r['times']} times: {r['reason']}"
              for r in st["refusals"]]
    lines += [f"device {d['fleet']}/{d['device']} key {d['key_id']}"
              + (f" REVOKED {d['revoked_at']}" if d["revoked_at"] else "")
              for d in st["devices"]]
    _emit(st, as_json, "\n".join(lines))


@app.command()
def audit(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Re-verify every stored verdict with its device's key; list undelivered sequences."""
    a = report.audit(open_engine(db, create=False))
    obj = {"verified": a.verified, "failed": a.failed, "gaps": a.gaps}
    text = [f"verified: {a.verified}, failed: {len(a.failed)}", *a.failed[:20]]
    text += [f"gaps {dev}: {seqs[:10]}" for dev, seqs in a.gaps.items()]
    _emit(obj, as_json, "\n".join(text))
    if not a.ok:
        raise typer.Exit(1)


@app.command()
def register(fleet: str, device: str,
             public_key: Annotated[Path, typer.Argument(help="the booth's public JWK file")],
             db: DbOpt = DEFAULT_DB) -> None:
    """Register a booth's verdict key by hand (booths normally register over MQTT)."""
    try:
        doc = read_json_file(public_key, max_bytes=16 * 1024)
        public_key_from_text(json.dumps(doc))
    except (InputError, ValueError) as exc:
        raise HubInputError(f"{public_key}: {exc}") from None
    kid = registry.register_device(open_engine(db), fleet, device, doc)
    _emit({"device": device, "key_id": kid}, False, f"registered {fleet}/{device} ({kid})")


@app.command()
def revoke(fleet: str, device: str,
           reason: Annotated[str, typer.Option(help="why (kept with the device)")],
           db: DbOpt = DEFAULT_DB) -> None:
    """Refuse every later verdict of a device."""
    registry.revoke_device(open_engine(db, create=False), fleet, device, reason)
    _emit({}, False, f"revoked {fleet}/{device}")


@app.command()
def testing(fleet: str, on: Annotated[bool, typer.Option("--on/--off")], db: DbOpt = DEFAULT_DB
            ) -> None:
    """Mark a fleet for testing: verdicts from files and simulations are accepted."""
    registry.set_testing(open_engine(db), fleet, on)
    _emit({}, False, f"fleet {fleet}: testing {'on' if on else 'off'}")


BAD_INPUT = (HubInputError, HubConfigError, HubDatabaseError, BrokerUrlError,
             registry.RegistryError, click.UsageError, api_cli.BadInput,
             typer.TyperException,  # typer's own click: an unknown option, a bad value
             *console_cli.BAD_INPUT)


def run_cli(argv: list[str]) -> int:
    """`poh hub ARGV...` under the exit-code contract."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO if "-v" in argv else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    argv = [a for a in argv if a != "-v"]
    try:
        typer.main.get_command(app).main(args=argv, prog_name="poh hub", standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        return 130
    except BAD_INPUT as exc:
        msg = exc.format_message() if isinstance(exc, click.UsageError) else str(exc)
        sys.stderr.write(f"poh hub: error: {msg.splitlines()[0] if msg else 'bad input'}\n")
        return 2
    except Exception as exc:  # the contract: any other failure is internal, one line
        log.debug("internal failure", exc_info=True)
        sys.stderr.write(f"poh hub: error: {type(exc).__name__}: {exc}\n")
        return 1
    return 0
