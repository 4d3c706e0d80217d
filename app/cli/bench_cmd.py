"""`poh bench ...`: speed and memory benchmarks."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import BadInputError, JsonOpt, emit, progress
from app.paths import data_dir, models_dir

app = typer.Typer(help="Benchmarks that print medians and ratios.", no_args_is_help=True)


@app.command("inference")
def inference(
    frames: Annotated[int, typer.Option("--frames", help="Frames of real faces to time.")] = 120,
    max_side: Annotated[int, typer.Option(
        "--max-side", help="Colour portraits are resized to this longer side (camera frame).")
    ] = 640,
    seconds: Annotated[float, typer.Option(
        "--throughput-seconds", help="Duration of each throughput run; 0 skips it.")] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Per-stage median and p95, end to end, passive check, detect+landmarks fps, throughput."""
    from app.benchmarks.inference_bench import format_report, run_bench

    if frames < 1:
        raise BadInputError("--frames must be at least 1")
    if max_side < 64:
        raise BadInputError("--max-side must be at least 64")
    if seconds < 0:
        raise BadInputError("--throughput-seconds must not be negative")
    try:
        report = run_bench(models_dir(), data_dir(), frames=frames, max_side=max_side,
                           throughput_seconds=seconds, progress=progress)
    except FileNotFoundError as exc:
        raise BadInputError(str(exc)) from exc
    emit(report, as_json, format_report)
