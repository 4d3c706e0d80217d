"""Reading a workflow file: every failure becomes one line that names the bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.workflows.model import Workflow
from assets import asset_path
from sync.strict_json import InputError, StrictJsonError, parse_json, read_input_file

MAX_BYTES = 256 * 1024  # a workflow is a few hundred bytes; refuse anything absurd early
MAX_DEPTH = 8  # workflow -> features -> [i] -> config -> accepted_methods -> [j]

WORKFLOWS = asset_path("workflows")
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


def parse_workflow(data: Any, source: str = "workflow") -> Workflow:
    """Validate a decoded JSON value strictly: "1" is not a version, "true" is not a bool."""
    if not isinstance(data, dict):
        raise WorkflowError(f"{source}: a workflow must be a JSON object")
    try:
        # via JSON text, so that strict mode judges JSON types; allow_nan=False: NaN is no JSON
        text = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise WorkflowError(f"{source}: not a JSON document ({type(exc).__name__})") from exc
    try:
        return Workflow.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise WorkflowError(f"{source}: {describe_validation_error(exc)}") from exc


def load_workflow(path: Path) -> Workflow:
    """A workflow file: a regular file of at most MAX_BYTES (a folder or /dev/zero is refused
    before anything is read), strictly parsed and validated."""
    try:
        raw = read_input_file(path, max_bytes=MAX_BYTES)
    except InputError as exc:
        raise WorkflowError(str(exc)) from exc
    return parse_workflow_document(raw, str(path))


def parse_workflow_document(raw: bytes | str, source: str = "workflow") -> Workflow:
    """A workflow document (a file's bytes, or one pushed to a running kiosk), strictly read."""
    try:
        data = parse_json(raw, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)
    except StrictJsonError as exc:
        raise WorkflowError(f"{source}: {exc}") from exc
    return parse_workflow(data, source)
