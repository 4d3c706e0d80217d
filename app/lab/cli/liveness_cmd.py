"""`poh-lab liveness calibrate-passive`: refit passive liveness on the simulated tuning split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError
from app.lab.cli.sim_cmd import check_count
from app.lab.simulation.scene import sources
from app.paths import data_dir
from inference.passive import CALIBRATION_PATH

app = typer.Typer(help="Liveness calibration.", no_args_is_help=True)


def _human(doc: dict[str, Any]) -> str:
    lines = [f"wrote {doc['path']} (operating logit {doc['operating_logit']:.3f})",
             "out-of-fold tuning figures (folds = source portraits):"]
    for sp, f in doc["tuning_out_of_fold"].items():
        a = f["apcer_at_bpcer5"]
        lines.append(f"  {sp:<8} EER {100 * f['eer']:4.1f}%   APCER at BPCER 5% "
                     f"{100 * a['rate']:4.1f}% ({a['errors']}/{a['trials']})")
    return "\n".join(lines)


@app.command("calibrate-passive")
def calibrate_passive(
    n: Annotated[int, typer.Option("--n", help="Tuning frames per species.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the tuning set.")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Calibration file to write.")] = (
        CALIBRATION_PATH),
    as_json: JsonOpt = False,
) -> None:
    """Simulate the tuning split only (tuning portraits, tuning settings), fit and write."""
    from app.cli.context import pipeline as build_pipeline
    from app.lab.evaluation.pad_calibrate import calibrate, write_calibration
    from app.lab.evaluation.pad_data import observe_simulated

    check_count(n)
    if n < 5:  # after the models and the rendering, the fit would only fail (exit 1)
        raise BadInputError("--n must be at least 5: the fit needs 5 live and 5 attack faces")
    with progress_report("calibrate-passive frames", as_json) as report:
        report.note(f"loading the models; simulating and analysing {3 * n} tuning frames",
                    sticky=False)
        obs = observe_simulated(build_pipeline(), data_dir(), "tuning", n, seed,
                                on_progress=report.count)
    doc = calibrate(obs, {"split": "tuning", "per_species": n, "seed": seed,
                          "simulator": "app.lab.simulation (camera model shared by live and "
                                       "attacks)",
                          "sources": [s.file for s in sources("tuning")],
                          "identities": sorted({s.identity for s in sources("tuning")})})
    write_calibration(doc, out)
    summary = {"path": str(out), "operating_logit": doc["operating_logit"],
               "tuning_out_of_fold": doc["tuning_out_of_fold"], "data": doc["data"]}
    emit(summary, as_json, _human)
