"""Entry point of the `poh-lab` console script: simulation, evaluation, benchmarks, sample data
and the demo. Never shipped; nothing in the product imports it. Same exit-code contract as `poh`.
"""

from __future__ import annotations

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
import sys

import typer

from app.cli.main import configure_logging, run_app
from app.lab.cli import (
    bench_cmd,
    data_cmd,
    demo_cmd,
    eval_cmd,
    kiosk_cmd,
    liveness_cmd,
    session_cmd,
    sim_cmd,
)

app = typer.Typer(
    name="poh-lab",
    help="The poh-kiosk lab: simulation, evaluation, benchmarks, sample data, demo. Lab "
         "sessions sign with a scratch key in the lab's own data folder.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cmd.app, name="data")
app.add_typer(sim_cmd.app, name="sim")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(liveness_cmd.app, name="liveness")
app.add_typer(session_cmd.app, name="session")
demo_cmd.register(app)
kiosk_cmd.register(app)
app.callback()(configure_logging)


def run(argv: list[str] | None = None) -> int:
    return run_app(app, "poh-lab", argv)


def main() -> None:
    sys.exit(run())
