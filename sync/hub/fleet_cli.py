"""`poh hub fleet status|forget|bench`: the fleet index's counts, reviews and erasures (with the
booths that confirmed each), and erasing a person fleet-wide from the hub."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sync.hub.db import open_engine
from sync.hub.service import load_signing_key
from sync.hub.template_worker import read_template_key, template_link
from sync.hub.templates import FleetTemplates
from sync.transport import Connected, Published

app = typer.Typer(help="Fleet-wide uniqueness: the fleet index and its erasures.",
                  no_args_is_help=True)

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL of the hub database.")]
HubDirOpt = Annotated[Path, typer.Option("--hub-dir", help="FLEET_DIR/hub (keys, certificate).")]
FleetOpt = Annotated[str, typer.Option("--fleet", help="The fleet id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def open_templates(db: str, hub_dir: Path, fleet: str) -> FleetTemplates:
    return FleetTemplates(open_engine(db), fleet, read_template_key(hub_dir),
                          load_signing_key(hub_dir / "signing.key"))


def report(t: FleetTemplates) -> dict[str, Any]:
    return {**t.counts(), "reviews": t.reviews(), "erasures": t.erasures()}


def _emit(obj: Any, as_json: bool, text: str) -> None:
    sys.stdout.write((json.dumps(obj, indent=2, default=str) if as_json else text) + "\n")


def human(o: dict[str, Any]) -> str:
    lines = [f"fleet {o['fleet_id']}: {o['templates']} templates (index {o['index_size']}), "
             f"last delta {o['last_seq']}, {len(o['reviews'])} in review, "
             f"{len(o['erasures'])} erasures"]
    lines += [f"  booth {d}: cursor {c}" for d, c in sorted(o["booth_cursors"].items())]
    lines += [f"  review: session {r['session_id']} of {r['device_id']} matches "
              f"{r['matching_session']} of {r['matching_device']} ({r['similarity']:.3f})"
              for r in o["reviews"]]
    lines += [f"  erasure {e['seq']} ({e['templates']} templates, by {e['requested_by']}): "
              f"confirmed {', '.join(e['confirmed']) or '-'}; waiting for "
              f"{', '.join(e['pending']) or 'nobody'}" for e in o["erasures"]]
    return "\n".join(lines)


@app.command("status")
def status(hub_dir: HubDirOpt, fleet: FleetOpt, db: DbOpt = "sqlite:///hub.db",
           as_json: JsonOpt = False) -> None:
    """Counts, sessions put In Review, erasures and which booths confirmed them."""
    o = report(open_templates(db, hub_dir, fleet))
    _emit(o, as_json, human(o))


def forget_and_publish(t: FleetTemplates, vendor_data: str, broker: str, hub_dir: Path,
                       timeout: float = 15.0) -> int | None:
    """Erase at the hub, then publish the erasure delta (booths that miss it now get it from
    their cursor later: it is in the log)."""
    seq, out = t.forget(vendor_data)
    if out:
        link = template_link(broker, hub_dir, "hub-forget")
        link.start()
        try:
            if link.wait_connected(timeout):
                mids = {link.publish(topic, payload, qos=1) for topic, payload in out}
                while mids:
                    ev = link.get(timeout)
                    if ev is None:
                        break
                    if isinstance(ev, Published):
                        mids.discard(ev.mid)
                    elif isinstance(ev, Connected):
                        continue
        finally:
            link.stop()
    return seq


@app.command("forget")
def forget(vendor_data: Annotated[str, typer.Option("--vendor-data")], hub_dir: HubDirOpt,
           fleet: FleetOpt, broker: Annotated[str, typer.Option("--broker")],
           db: DbOpt = "sqlite:///hub.db", as_json: JsonOpt = False) -> None:
    """Erase a person fleet-wide: the hub's templates now, every booth's as it merges."""
    t = open_templates(db, hub_dir, fleet)
    seq = forget_and_publish(t, vendor_data, broker, hub_dir)
    o = {"vendor_data": vendor_data, "erasure_seq": seq}
    _emit(o, as_json, f"erased {vendor_data} fleet-wide (delta {seq})" if seq is not None
          else f"{vendor_data}: nothing of this person at the hub")


@app.command("bench")
def bench(n: Annotated[int, typer.Option("--n", min=1, max=5_000_000)] = 20_000,
          queries: Annotated[int, typer.Option("--queries", min=1, max=1_000_000)] = 1000,
          as_json: JsonOpt = False) -> None:
    """The fleet index through the hub's code (scratch database): ingest rate, start-up,
    1:N query times."""
    from sync.hub.fleet_bench import format_report, run_bench

    o = run_bench(n, queries)
    _emit(o, as_json, format_report(o))
