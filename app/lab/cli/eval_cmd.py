"""`poh-lab eval ...`: accuracy evaluations, each with a progress display on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import ProgressReport, progress_report
from app.lab.cli.common import face_scan_folder

if TYPE_CHECKING:
    from inference.pipeline import FacePipeline

app = typer.Typer(help="Accuracy evaluations that print error rates with trial counts.",
                  no_args_is_help=True)


@app.command("faces")
def faces(
    folder: Annotated[Path, typer.Argument(help="One sub-folder of images per identity.")],
    upscale: Annotated[
        bool, typer.Option("--upscale", help="Faces fill the frame (ORL): upscale and pad.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Face verification: genuine/impostor pairs, FNMR at FMR 1e-2 and 1e-3, EER."""
    from app.lab.evaluation.face_eval import evaluate_faces, render

    with progress_report("eval faces images", as_json) as report:
        result = evaluate_faces(folder, _models(report), tight=upscale,
                                on_progress=report.count)
    emit(result.to_dict(), as_json, lambda _: render(result))


@app.command("pad")
def pad(
    folder: Annotated[
        Path | None, typer.Argument(help="live/ and one folder per attack species.")
    ] = None,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Render a simulated set into a temp folder.")
    ] = False,
    split: Annotated[str, typer.Option("--split", help="With --simulate: heldout or tuning.")] = (
        "heldout"),
    n: Annotated[int, typer.Option("--n", help="With --simulate: frames per species.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="With --simulate: random seed.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Passive liveness: BPCER and APCER per attack species at the configured threshold."""
    import tempfile

    from app.cli.context import kiosk_config
    from app.cli.context import pipeline as build_pipeline
    from app.errors import BadInputError
    from app.kiosk.root import passive_liveness
    from app.lab.cli.sim_cmd import check_count, parse_split
    from app.lab.evaluation.pad_data import observe_folder
    from app.lab.evaluation.pad_eval import evaluate, render
    from app.lab.simulation.dataset import write_set
    from app.paths import data_dir

    if (folder is None) == (not simulate):
        raise BadInputError("give either a folder or --simulate")
    liveness = passive_liveness(kiosk_config().passive_liveness)  # the configured decline threshold
    pipeline = build_pipeline()

    if folder is not None:
        with progress_report("eval pad frames", as_json) as report:
            obs = observe_folder(pipeline, folder, report.count)
        desc = f"folder {folder}"
    else:
        sp = parse_split(split)
        check_count(n)
        with (tempfile.TemporaryDirectory(prefix="poh_pad_") as tmp,
              progress_report("eval pad", as_json) as report):
            report.note(f"rendering {3 * n} simulated frames ({sp} settings and portraits)")
            write_set(Path(tmp), data_dir(), sp, n, seed, report.count)
            report.note("analysing the frames")
            obs = observe_folder(pipeline, Path(tmp), report.count)
        desc = (f"simulated {sp} set: {n} frames per species, seed {seed} "
                "(attacks are simulated, not real)")
    result = evaluate(obs, liveness, desc)
    emit(result.to_dict(), as_json, lambda _: render(result))


@app.command("dedup")
def dedup(
    folder: Annotated[Path, typer.Argument(help="One sub-folder of images per identity.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Random enrolled/never splits.")] = 10,
    enrolled_fraction: Annotated[float, typer.Option(
        "--enrolled-fraction", help="Share of identities enrolled in each round.")] = 0.5,
    target_fpir: Annotated[float, typer.Option(
        "--target-fpir", help="FPIR the review threshold is calibrated to.")] = 0.01,
    k: Annotated[int, typer.Option("--k", help="Candidates returned per search.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the splits.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """1:N duplicate search: FNIR and FPIR with counts; calibrated review/decline thresholds."""
    from app.errors import BadInputError
    from app.lab.evaluation.dedup_eval import evaluate_dedup, render

    if rounds < 1 or not 0.0 < enrolled_fraction < 1.0 or not 0.0 < target_fpir < 1.0 or k < 1:
        raise BadInputError("need --rounds >= 1, --k >= 1, and fractions strictly in (0, 1)")
    with progress_report("eval dedup images", as_json) as report:
        result = evaluate_dedup(
            folder, _models(report), rounds=rounds, enrolled_fraction=enrolled_fraction, k=k,
            target_fpir=target_fpir, seed=seed, on_progress=report.count)
    emit(result.to_dict(), as_json, lambda _: render(result))


@app.command("active")
def active(
    trials: Annotated[int, typer.Option("--trials", help="Trials per species.")] = 50,
    split: Annotated[str, typer.Option("--split", help="heldout or tuning settings.")] = (
        "heldout"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    room_light: Annotated[str, typer.Option(
        "--room-light", help="Stress test: colour of the room light R,G,B (scaled to mean 1), "
                             "e.g. 1.4,1.0,0.6 for a warm lamp.")] = "1,1,1",
    family: Annotated[str, typer.Option(
        "--family", help="a: the 3D-scan simulator (tuning family); b: the independent "
                         "renderer (portrait meshes, rolling shutter, MJPEG; FLASHING only).")
    ] = "a",
    halves: Annotated[bool, typer.Option(
        "--halves", help="Two-sided plans (the booth's default) instead of whole-screen ones.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Active liveness (FLASHING, ACTIVE_3D) on a simulator family: BPCER, APCER/species."""
    from app.cli.context import kiosk_config
    from app.errors import BadInputError
    from app.kiosk.root import active_analyzer
    from app.lab.evaluation.active_eval import evaluate_active, render

    if split not in ("heldout", "tuning"):
        raise BadInputError("--split must be heldout or tuning")
    if trials < 1:
        raise BadInputError("--trials must be at least 1")
    if family not in ("a", "b"):
        raise BadInputError("--family must be a or b")
    room = _room_light(room_light)
    if family == "b":
        if room != (1.0, 1.0, 1.0):
            raise BadInputError("--room-light applies to family a only")
        from app.lab.datasets import colour_dir
        from app.lab.evaluation.active_eval_b import evaluate_active_b, render_b
        from app.paths import data_dir

        with progress_report("eval active trials", as_json) as report:
            doc_b = evaluate_active_b(active_analyzer(kiosk_config(), _models(report)),
                                      colour_dir(data_dir()), trials, seed, report.count,
                                      halves)
        emit(doc_b, as_json, render_b)
        return
    folder = face_scan_folder()
    with progress_report("eval active trials", as_json) as report:
        doc = evaluate_active(active_analyzer(kiosk_config(), _models(report)), folder,
                              "heldout" if split == "heldout" else "tuning", trials, seed,
                              report.count, room, halves)
    emit(doc, as_json, render)


@app.command("closed-loop")
def closed_loop(
    sessions: Annotated[int, typer.Option("--sessions", help="Sessions per species.")] = 10,
    split: Annotated[str, typer.Option("--split", help="heldout or tuning settings.")] = (
        "heldout"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    methods: Annotated[str, typer.Option(
        "--methods", help="Comma-separated: FLASHING, ACTIVE_3D, PASSIVE.")] = (
        "FLASHING,ACTIVE_3D,PASSIVE"),
    fps: Annotated[float, typer.Option("--fps", help="The simulated camera's rate.")] = 15.0,
    as_json: JsonOpt = False,
) -> None:
    """Whole sessions through the closed-loop simulated camera (headless screen, camera thread,
    session worker, real models): liveness accepted/declined per species, with counts."""
    from app.cli.context import kiosk_config
    from app.errors import BadInputError
    from app.lab.evaluation.closed_loop_eval import SPECIES_BY_METHOD, evaluate_closed_loop, render

    if split not in ("heldout", "tuning"):
        raise BadInputError("--split must be heldout or tuning")
    if not 1 <= sessions <= 1000:
        raise BadInputError("--sessions must be between 1 and 1000")
    if not 5.0 <= fps <= 30.0:
        raise BadInputError("--fps must be between 5 and 30")
    chosen = [m.strip().upper() for m in methods.split(",") if m.strip()]
    if not chosen or any(m not in SPECIES_BY_METHOD for m in chosen):
        raise BadInputError(f"--methods must name some of {', '.join(SPECIES_BY_METHOD)}")
    with progress_report("eval closed-loop sessions", as_json) as report:
        doc = evaluate_closed_loop(face_scan_folder(), kiosk_config(), _models(report),
                                   sessions=sessions, split="heldout" if split == "heldout" else
                                   "tuning", seed=seed, methods=chosen, fps=fps,
                                   on_progress=report.count)
    emit(doc, as_json, render)


def _models(report: ProgressReport) -> FacePipeline:
    """The face pipeline, compiled with a word on the display first: it takes seconds, longer
    on a busy machine, before the first count."""
    from app.cli.context import pipeline

    report.note("loading the models", sticky=False)
    return pipeline()


def _room_light(text: str) -> tuple[float, float, float]:
    from app.errors import BadInputError

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3 or not all(0.05 <= v <= 20 for v in vals):
        raise BadInputError("--room-light must be three numbers R,G,B between 0.05 and 20")
    mean = sum(vals) / 3
    return (vals[0] / mean, vals[1] / mean, vals[2] / mean)


@app.command("active-cross")
def active_cross(
    trials: Annotated[int, typer.Option("--trials", help="FLASHING trials per species.")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    family: Annotated[str, typer.Option(
        "--family", help="Collect figures of one family (a or b) into --save; 'fit': read "
                         "both saved files (--load-a, --load-b) and fit across.")] = "fit",
    split: Annotated[str, typer.Option("--split", help="Family a's settings.")] = "tuning",
    save: Annotated[Path | None, typer.Option("--save", help="Write the figures here.")] = None,
    load_a: Annotated[Path | None, typer.Option("--load-a")] = None,
    load_b: Annotated[Path | None, typer.Option("--load-b")] = None,
    write_model: Annotated[Path | None, typer.Option(
        "--write-model", help="With --family fit: also write the shape model fitted on "
                              "--load-a's family (the booth's assets/liveness/flash_shape.json, "
                              "or flash_sides.json for two-sided files)."
    )] = None,
    halves: Annotated[bool, typer.Option(
        "--halves", help="Collect two-sided plans (the screen's halves in different colours).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """FLASHING across evaluation families: collect the analyzer's figures per family, then fit
    the shape model and the sub-frame lag bound on one family and report per species on the
    other (and the other way round)."""
    import json

    from app.cli.context import kiosk_config
    from app.cli.context import pipeline as build_pipeline
    from app.errors import BadInputError
    from app.lab.evaluation import active_cross as ac

    if trials < 1 or family not in ("a", "b", "fit") or split not in ("tuning", "heldout"):
        raise BadInputError("need --trials >= 1, --family a|b|fit, --split tuning|heldout")
    if family == "fit":
        if load_a is None or load_b is None or not load_a.is_file() or not load_b.is_file():
            raise BadInputError("--family fit needs --load-a and --load-b files")
        try:
            doc_a = json.loads(load_a.read_text(encoding="utf-8"))
            doc_b = json.loads(load_b.read_text(encoding="utf-8"))
            rows_a, rows_b = doc_a["rows"], doc_b["rows"]
            meta_a = {k: v for k, v in doc_a.items() if k != "rows"}
            names = ac.feature_names([doc_a, doc_b])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInputError(f"not a figures file: {exc}") from exc
        emit(ac.cross_family(rows_a, rows_b, names), as_json, ac.render_cross)
        if write_model is not None:
            ac.write_model(rows_a, {**meta_a, "command": "poh-lab eval active-cross --family "
                                    f"fit --load-a {load_a.name} --write-model"}, write_model,
                           names)
        return
    if save is None:
        raise BadInputError("--family a|b needs --save PATH")
    from app.kiosk.root import active_analyzer
    from app.lab.datasets import colour_dir
    from app.paths import data_dir

    liveness = active_analyzer(kiosk_config(), build_pipeline())
    with progress_report(f"eval active-cross {family} trials", as_json) as report:
        if family == "a":
            rows = ac.collect_a(liveness, face_scan_folder(), split, trials, seed, report.count,
                                halves)
        else:
            rows = ac.collect_b(liveness, colour_dir(data_dir()), trials, seed, report.count,
                                halves)
    doc = {"family": family, "split": split if family == "a" else "b", "seed": seed,
           "trials_per_species": trials, "halves": halves, "rows": rows}
    save.write_text(json.dumps(doc), encoding="utf-8")
    emit({"saved": str(save), "rows": len(rows)}, as_json, lambda d: f"saved {d['rows']} rows "
         f"to {d['saved']}")
