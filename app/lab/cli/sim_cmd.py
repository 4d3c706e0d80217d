"""`poh sim pad OUTDIR`: write a simulated presentation-attack set (live, print, replay PNGs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError
from app.lab.cli.common import face_scan_folder
from app.lab.simulation.settings import SPLITS, Split
from app.paths import data_dir

app = typer.Typer(help="Presentation-attack simulator (prints and screen replays).",
                  no_args_is_help=True)

SplitOpt = Annotated[str, typer.Option("--split", help="Settings family and portraits: "
                                       "tuning or heldout.")]


def parse_split(value: str) -> Split:
    for s in SPLITS:
        if value == s:
            return s
    raise BadInputError(f"--split must be one of {', '.join(SPLITS)}, not {value!r}")


def check_count(n: int) -> None:
    if n < 1:
        raise BadInputError(f"--n must be at least 1, not {n}")


@app.command("pad")
def pad(
    outdir: Annotated[Path, typer.Argument(help="Folder to create: live/, print/, replay/.")],
    split: SplitOpt = "tuning",
    n: Annotated[int, typer.Option("--n", help="Frames per species.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Render n live frames, n prints and n screen replays through the same camera model."""
    from app.lab.simulation.dataset import write_set

    sp = parse_split(split)
    check_count(n)
    if outdir.exists() and not outdir.is_dir():
        raise BadInputError(f"{outdir}: exists and is not a folder")
    with progress_report("sim pad frames", as_json) as report:
        report.note(f"rendering {3 * n} frames ({sp} settings) into {outdir}", sticky=False)
        counts = write_set(outdir, data_dir(), sp, n, seed, report.count)
    emit({"outdir": str(outdir), "split": sp, "seed": seed, "counts": counts}, as_json,
         lambda o: "\n".join(f"{k:<7} {v} frames in {outdir / k}" for k, v in o["counts"].items()))


@app.command("active")
def active(
    out: Annotated[Path, typer.Argument(help="Recording folder to write (capture.json + PNGs).")],
    species: Annotated[str, typer.Option(
        "--species", help="live, print, replay, retint0, retint2 or moved_photo.")] = "live",
    method: Annotated[str, typer.Option("--method", help="FLASHING or ACTIVE_3D.")] = "FLASHING",
    split: Annotated[str, typer.Option("--split", help="heldout or tuning settings.")] = (
        "heldout"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    halves: Annotated[bool, typer.Option(
        "--halves", help="A two-sided plan (the screen's halves in different colours).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write one simulated active-liveness capture recording (synthetic face images)."""
    import numpy as np

    from app.capture.recording import write_recording
    from app.lab.simulation.flash.scene import SPECIES_ACTIVE, SPECIES_FLASH, FaceScene, simulate
    from app.lab.simulation.flash.settings import draw_settings

    if method not in ("FLASHING", "ACTIVE_3D"):
        raise BadInputError("--method must be FLASHING or ACTIVE_3D")
    allowed = ("live", *SPECIES_FLASH) if method == "FLASHING" else ("live", *SPECIES_ACTIVE)
    if species not in allowed:
        raise BadInputError(f"--species for {method} must be one of {', '.join(allowed)}")
    if split not in ("heldout", "tuning"):
        raise BadInputError("--split must be heldout or tuning")
    folder = face_scan_folder()
    if out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out} exists and is not empty")
    rng = np.random.default_rng(seed)
    rec = simulate(FaceScene(folder), species, method,
                   draw_settings("heldout" if split == "heldout" else "tuning", rng), rng,
                   halves=halves)
    write_recording(out, rec)
    emit({"path": str(out), "method": method, "species": species, "frames": len(rec.frames),
          "nonce": rec.nonce.hex()}, as_json,
         lambda d: f"wrote {d['frames']} frames ({d['method']}, {d['species']}) to {d['path']}")
