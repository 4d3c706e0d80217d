"""`poh workflow validate FILE`: check a workflow before any session can use it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.errors import BadInputError
from app.workflows import Workflow, WorkflowError, load_workflow

app = typer.Typer(help="Validate and show workflows.", no_args_is_help=True)


def load_or_bad_input(path: Path) -> Workflow:
    """Load a workflow for a command; a bad file is bad input (exit 2, one line)."""
    try:
        return load_workflow(path)
    except WorkflowError as exc:
        raise BadInputError(str(exc)) from exc


def summary(wf: Workflow) -> dict[str, Any]:
    return {
        "valid": True,
        "workflow_id": wf.workflow_id,
        "version": wf.version,
        "workflow_label": wf.workflow_label,
        "features": [f.feature for f in wf.features],
        "liveness_method": wf.method.value,
        "face_liveness_score_decline_threshold": wf.face_liveness_score_decline_threshold,
        "workflow": wf.model_dump(mode="json"),
    }


def _human(s: dict[str, Any]) -> str:
    return (f"ok: {s['workflow_id']} version {s['version']} ({s['workflow_label']}): "
            f"{', '.join(s['features'])}; liveness {s['liveness_method']}")


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Workflow JSON file.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a workflow file: exit 2 with one line naming the bad field."""
    emit(summary(load_or_bad_input(file)), as_json, _human)
