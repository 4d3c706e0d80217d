"""Reading a workflow file: every failure becomes one line that names the bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.workflows.model import Workflow
from sync.canonical import strict_object_hook

MAX_BYTES = 256 * 1024  # a workflow is a few hundred bytes; refuse anything absurd early

WORKFLOWS = Path(__file__).resolve().parents[2] / "assets" / "workflows"
DEFAULT_WORKFLOW = WORKFLOWS / "default.json"
FLASHING_WORKFLOW = WORKFLOWS / "flashing.json"
ACTIVE_3D_WORKFLOW = WORKFLOWS / "active_3d.json"


class WorkflowError(ValueError):
    """A workflow file cannot be used; str() is one line naming the file and the field."""


def _where(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        # pydantic puts the discriminator tag of a union member into the path; it is noise here
        if isinstance(item, str) and item in {"LIVENESS", "FACE_SEARCH", "FACE_MATCH",
                                               "AGE_ESTIMATION"}:
            continue
        parts.append(str(item))
    return ".".join(parts)


def describe_validation_error(exc: ValidationError) -> str:
    """First error as `field.path: message`, plus how many more there are."""
    errors = exc.errors(include_url=False)
    # a failed member also makes its list "too short"; that echo names no new problem
    real = [e for e in errors if e["type"] != "too_short"] or errors
    errors = real
    first = errors[0]
    where = _where(tuple(first["loc"]))
    kind = first["type"]
    if kind == "extra_forbidden":
        msg = "unknown field"
    elif kind == "missing":
        msg = "required field is missing"
    else:
        msg = str(first["msg"]).removeprefix("Value error, ")
    line = f"{where}: {msg}" if where else msg
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line.replace("\n", " ")


_no_duplicate_keys = strict_object_hook(
    lambda key: WorkflowError(f"{key}: key appears twice in one object")
)


def parse_workflow(data: Any, source: str = "workflow") -> Workflow:
    """Validate a decoded JSON value strictly: "1" is not a version, "true" is not a bool."""
    if not isinstance(data, dict):
        raise WorkflowError(f"{source}: a workflow must be a JSON object")
    try:
        return Workflow.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise WorkflowError(f"{source}: {describe_validation_error(exc)}") from exc


def load_workflow(path: Path) -> Workflow:
    if not path.is_file():
        raise WorkflowError(f"{path}: no such file")
    return parse_workflow_document(path.read_bytes(), str(path))


def parse_workflow_document(raw: bytes | str, source: str = "workflow") -> Workflow:
    """A workflow document (a file's bytes, or one pushed to a running kiosk), strictly read."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise WorkflowError(f"{source}: {len(raw)} bytes, larger than {MAX_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except WorkflowError as exc:
        raise WorkflowError(f"{source}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise WorkflowError(f"{source}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"{source}: not valid JSON (line {exc.lineno} column {exc.colno}: "
                            f"{exc.msg})") from exc
    except RecursionError as exc:
        raise WorkflowError(f"{source}: nested too deeply") from exc
    return parse_workflow(data, source)
