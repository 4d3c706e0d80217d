"""`poh eval ...`: accuracy evaluations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit, progress

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
    from app.evaluation.face_eval import evaluate_faces, render
    from app.runtime import build_pipeline

    result = evaluate_faces(
        folder,
        build_pipeline(),
        tight=upscale,
        on_progress=lambda n, total: progress(f"embedded {n}/{total} images"),
    )
    emit(result.to_dict(), as_json, lambda _: render(result))
