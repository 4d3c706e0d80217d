"""`poh sync run|status`: the booth's verdict drain to the fleet hub, and its backlog.

`run` uses the booth's fleet membership (`poh fleet join`); the broker options stand in for it
on a booth that has none (a lab bench, a test): --broker, --ca/--cert/--key, --hub-key, --fleet.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.errors import BadInputError
from sync.device_key import DeviceKeyError, public_key_from_text
from sync.drain import DrainSettings, DrainStats
from sync.transport import TlsFiles
from sync.transport.settings import BrokerUrlError

app = typer.Typer(help="Send verdicts to the fleet hub and show the outbox backlog.",
                  no_args_is_help=True)

PathOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False)]


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="Stop when the outbox is empty (or "
                                       "holds only verdicts the hub refused).")] = False,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds (0: never)."
                                           )] = 0.0,
    broker: Annotated[str | None, typer.Option(help="mqtts://host:port (default: the "
                                               "fleet membership's)")] = None,
    ca: PathOpt = None, cert: PathOpt = None, key: PathOpt = None,
    hub_key: Annotated[Path | None, typer.Option(
        "--hub-key", exists=True, dir_okay=False, help="The hub's public key (JWK or PEM)")
    ] = None,
    fleet: Annotated[str | None, typer.Option(help="Fleet id (default: the membership's)")
                     ] = None,
    window: Annotated[int, typer.Option(min=1, max=10_000, help="Verdicts in flight")] = 256,
    ack_timeout: Annotated[float, typer.Option(min=0.5, help="Re-send after (s)")] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Drain the outbox to the hub until stopped (SIGTERM/Ctrl-C), or with --once until empty.

    A verdict leaves the outbox only when the hub's signed ack says it is stored."""
    from contextlib import nullcontext

    from app.cli.context import kiosk_config, kiosk_storage
    from sync.drain.booth import make_drain, member_drain, run_drain
    from sync.fleet.membership import MembershipError, load_membership

    settings = DrainSettings(window=window, ack_timeout=ack_timeout)
    stop = threading.Event()
    _stop_on_signals(stop)
    timer = threading.Timer(timeout, stop.set)
    timer.daemon = True
    if timeout > 0:
        timer.start()
    with kiosk_storage() as storage:
        store = storage.verdicts()
        try:
            if broker is None:
                membership = load_membership(storage.home)
                if membership is None:
                    raise BadInputError("this booth has not joined a fleet: run `poh fleet "
                                        "join BUNDLE`, or give --broker and --hub-key")
                drain = member_drain(store, membership, storage.key, settings)
            else:
                drain = make_drain(store, broker_url=broker, fleet=fleet or "default",
                                   device_id=storage.device_key().device_id,
                                   hub_key=_hub_key(hub_key), tls=_tls(ca, cert, key),
                                   settings=settings)
        except (MembershipError, BrokerUrlError) as exc:
            raise BadInputError(str(exc)) from None
        from app.kiosk.fleet_sync import fleet_companion  # registration, template sync

        with fleet_companion(storage.home, kiosk_config()) if broker is None else nullcontext():
            stats = run_drain(drain, stop, until_empty=once)
        backlog = store.backlog()
    timer.cancel()
    _report(stats, backlog.pending, backlog.refused, backlog.last_refusal, as_json)
    if once and backlog.pending:
        why = (f"{backlog.refused} refused by the hub (last: {backlog.last_refusal})"
               if backlog.refused else "the hub did not acknowledge them in time")
        raise BadInputError(f"{backlog.pending} verdicts are still in the outbox: {why}")


def _hub_key(path: Path | None) -> Any:
    if path is None:
        raise BadInputError("--broker needs --hub-key (the hub's public key, to check its acks)")
    try:
        return public_key_from_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, DeviceKeyError) as exc:
        raise BadInputError(f"--hub-key {path}: {exc}") from None


def _tls(ca: Path | None, cert: Path | None, key: Path | None) -> TlsFiles | None:
    if ca is None:
        if cert or key:
            raise BadInputError("--cert/--key need --ca")
        return None
    return TlsFiles(ca, cert, key)


def _report(stats: DrainStats, pending: int, refused: int, last: str | None, as_json: bool
            ) -> None:
    obj = {"published": stats.published, "resent": stats.resent, "stored": stats.stored,
           "duplicates": stats.duplicates, "refused": stats.refused,
           "bad_acks": stats.bad_acks, "outbox_pending": pending, "outbox_refused": refused,
           "last_refusal": last, "first_publish": stats.first_publish,
           "last_delivery": stats.last_delivery, "latency_p50_ms": stats.latency_ms(0.50),
           "latency_p99_ms": stats.latency_ms(0.99)}
    emit(obj, as_json, lambda o: (
        f"sent {o['published']} (+{o['resent']} again), stored {o['stored']}, duplicates "
        f"{o['duplicates']}, refused {o['refused']}; outbox: {o['outbox_pending']} pending"
        + (f", {o['outbox_refused']} refused (last: {o['last_refusal']})"
           if o["outbox_refused"] else "")))


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """The outbox backlog, refusals and the last acknowledged sync."""
    from app.cli.context import kiosk_storage
    from sync.fleet.membership import load_membership

    with kiosk_storage() as storage:
        b = storage.verdicts().backlog()
        m = load_membership(storage.home)
    obj = {"outbox_pending": b.pending, "outbox_refused": b.refused,
           "last_refusal": b.last_refusal, "last_sync": b.last_sync,
           "fleet": m.fleet_id if m else None, "broker": m.broker_url if m else None}
    emit(obj, as_json, lambda o: "\n".join([
        f"outbox: {o['outbox_pending']} verdicts waiting for the hub",
        f"refused by the hub: {o['outbox_refused']}"
        + (f" (last: {o['last_refusal']})" if o["last_refusal"] else ""),
        f"last sync: {o['last_sync'] or 'never'}",
        f"fleet: {o['fleet'] or 'not joined'}" + (f" via {o['broker']}" if o["broker"] else "")]))
