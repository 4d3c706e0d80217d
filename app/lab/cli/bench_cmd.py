"""`poh-lab bench ...`: speed and memory benchmarks, each with a progress display on stderr."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError
from app.lab.cli import bench_sync_cmd
from app.lab.cli.common import face_scan_folder
from app.paths import data_dir, models_dir

app = typer.Typer(help="Benchmarks that print medians and ratios.", no_args_is_help=True)
bench_sync_cmd.register(app)  # `poh-lab bench sync` (verdict sync over real processes)


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
    from app.lab.benchmarks.inference_bench import format_report, run_bench

    if frames < 1:
        raise BadInputError("--frames must be at least 1")
    if max_side < 64:
        raise BadInputError("--max-side must be at least 64")
    if seconds < 0:
        raise BadInputError("--throughput-seconds must not be negative")
    try:
        with progress_report("bench inference", as_json) as shown:
            report = run_bench(models_dir(), data_dir(), frames=frames, max_side=max_side,
                               throughput_seconds=seconds, progress=shown.note,
                               count=shown.count)
    except FileNotFoundError as exc:
        raise BadInputError(str(exc)) from exc
    emit(report, as_json, format_report)


@app.command("index")
def index(
    n: Annotated[int, typer.Option("--n", help="Templates in the gallery.")] = 100_000,
    dim: Annotated[int, typer.Option("--dim", help="Template dimensions.")] = 192,
    samples: Annotated[int, typer.Option(
        "--samples", help="Gallery samples per synthetic identity.")] = 2,
    queries: Annotated[int, typer.Option("--queries", help="Re-enrollment queries.")] = 2000,
    ef_search: Annotated[str, typer.Option(
        "--ef-search", help="Comma-separated efSearch values to sweep.")] = "32,64,96,128,192",
    m: Annotated[int | None, typer.Option("--m", help="HNSW M (default: configured).")] = None,
    ef_construction: Annotated[int | None, typer.Option(
        "--ef-construction", help="HNSW efConstruction (default: configured).")] = None,
    spectrum: Annotated[str, typer.Option(
        "--spectrum", help="Synthetic spread: moderate, crowded (ORL-like) or isotropic.")
    ] = "moderate",
    as_json: JsonOpt = False,
) -> None:
    """Face index at scale: build, memory, k=10 latency, recall@1 vs exact, churn, start-up."""
    from app.lab.benchmarks.index_bench import format_report, run_index_bench

    if not 1_000 <= n <= 5_000_000:
        raise BadInputError("--n must be between 1000 and 5000000")
    if not 8 <= dim <= 4096 or not 1 <= samples <= 100 or not 10 <= queries <= 100_000:
        raise BadInputError("need 8 <= --dim <= 4096, 1 <= --samples <= 100, "
                            "10 <= --queries <= 100000")
    try:
        efs = tuple(int(x) for x in ef_search.split(",") if x.strip())
    except ValueError:
        raise BadInputError("--ef-search takes comma-separated integers") from None
    if not efs or min(efs) < 8:
        raise BadInputError("--ef-search values must be at least 8")
    if spectrum not in ("moderate", "crowded", "isotropic"):
        raise BadInputError("--spectrum is moderate, crowded or isotropic")
    with progress_report("bench index", as_json) as shown:
        report = run_index_bench(n, dim, samples=samples, queries=queries, ef_search=efs, m=m,
                                 ef_construction=ef_construction, spectrum=spectrum,
                                 progress=shown.note, count=shown.count)
    emit(report, as_json, format_report)


@app.command("active")
def active(
    runs: Annotated[int, typer.Option("--runs", help="Timed analyses of the recording.")] = 15,
    as_json: JsonOpt = False,
) -> None:
    """Median analysis time of a simulated 3-second FLASHING recording."""
    from app.cli.context import kiosk_config
    from app.cli.context import pipeline as build_pipeline
    from app.kiosk.root import active_analyzer
    from app.lab.benchmarks.active_bench import format_report, run_active_bench

    if runs < 1:
        raise BadInputError("--runs must be at least 1")
    folder = face_scan_folder()
    with progress_report("bench active runs", as_json) as shown:
        shown.note("loading the models, simulating a FLASHING recording", sticky=False)
        doc = run_active_bench(active_analyzer(kiosk_config(), build_pipeline()), folder, runs,
                               shown.count)
    emit(doc, as_json, format_report)


@app.command("session")
def session(
    frames: Annotated[int, typer.Option(
        "--frames", help="Demo-clip frames for the per-frame costs.")] = 60,
    repeats: Annotated[int, typer.Option(
        "--repeats", help="Whole sessions per method, before and after.")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Session flow before (full analysis on every frame) and after (tracking on every frame,
    completion on candidates): per-frame costs, whole PASSIVE and FLASHING sessions, and PASSIVE
    face-in-position to verdict, all in one run on scratch kiosks."""
    from app.cli.context import kiosk_config
    from app.lab.benchmarks.session_bench import format_report, run_session_bench
    from app.lab.datasets import colour_dir

    if frames < 1:
        raise BadInputError("--frames must be at least 1")
    if repeats < 1:
        raise BadInputError("--repeats must be at least 1")
    folder = face_scan_folder()
    try:
        with progress_report("bench session", as_json) as shown:
            report = run_session_bench(kiosk_config(), colour_dir(data_dir()), folder,
                                       frames=frames, repeats=repeats, progress=shown.note,
                                       count=shown.count)
    except FileNotFoundError as exc:
        raise BadInputError(str(exc)) from exc
    emit(report, as_json, format_report)


@app.command("closed-loop")
def closed_loop(
    frames: Annotated[int, typer.Option("--frames", help="Frames timed per size.")] = 60,
    seconds: Annotated[float, typer.Option(
        "--seconds", help="How long the delivery run lasts.")] = 20.0,
    fps: Annotated[float, typer.Option("--fps", help="The camera's frame rate.")] = 15.0,
    as_json: JsonOpt = False,
) -> None:
    """Closed-loop simulated camera: render ms per frame by size; delivered fps under load."""
    from app.cli.context import pipeline as build_pipeline
    from app.lab.benchmarks.closed_loop_bench import format_report, run_bench

    if not 1 <= frames <= 10_000 or not 1.0 <= seconds <= 3600.0 or not 5.0 <= fps <= 30.0:
        raise BadInputError("need 1 <= --frames <= 10000, 1 <= --seconds <= 3600 and "
                            "5 <= --fps <= 30")
    with progress_report("bench closed-loop", as_json) as shown:
        report = run_bench(face_scan_folder(), build_pipeline(), frames=frames, seconds=seconds,
                           fps=fps, progress=shown.note, count=shown.count)
    emit(report, as_json, format_report)


@app.command("frame-timing")
def frame_timing(
    frames: Annotated[int, typer.Option("--frames", help="Frames per run.")] = 150,
    fps: Annotated[float, typer.Option("--fps", help="The synthetic source's rate.")] = 30.0,
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per source and load.")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """What the capture-integrity timing check sees of sleep-paced synthetic sources here."""
    from app.capture.images import load_image
    from app.lab.benchmarks.frame_timing_bench import format_report, run_bench
    from inference.pipeline import FacePipeline, PipelineConfig

    if not (10 <= frames <= 10_000 and 1.0 <= fps <= 240.0 and 1 <= repeats <= 20):
        raise BadInputError("--frames 10-10000, --fps 1-240, --repeats 1-20")
    image = load_image(data_dir() / "colour" / "obama.jpg")
    pipeline = FacePipeline(PipelineConfig(models_dir=models_dir()))
    with progress_report("bench frame-timing runs", as_json) as shown:
        doc = run_bench(image, pipeline, fps=fps, frames=frames, repeats=repeats,
                        progress=shown.note, count=shown.count)
    emit(doc, as_json, format_report)


@app.command("kiosk")
def kiosk(
    seconds: Annotated[float, typer.Option("--seconds", help="Each preview phase.")] = 8.0,
    fps: Annotated[float, typer.Option("--fps", help="The fake camera's rate.")] = 30.0,
    flashes: Annotated[int, typer.Option("--flashes", help="FLASHING sessions drawn.")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """The kiosk screen offscreen: preview rate and frame-to-screen latency alone and while a
    PASSIVE session analyses frames, dropped camera frames, flash presentation error."""
    from app.lab.cli.kiosk_bench import format_report, run_bench

    if not (2.0 <= seconds <= 120.0 and 5.0 <= fps <= 120.0 and 0 <= flashes <= 20):
        raise BadInputError("--seconds 2-120, --fps 5-120, --flashes 0-20")
    with progress_report("bench kiosk phases", as_json) as shown:
        doc = run_bench(seconds=seconds, fps=fps, flashes=flashes, count=shown.count)
    emit(doc, as_json, format_report)
