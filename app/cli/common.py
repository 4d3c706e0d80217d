"""Shared CLI plumbing: the bad-input error, JSON/human output and option types."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer


class BadInputError(Exception):
    """The user gave input the command cannot use; exit code 2 with a one-line message."""


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Write a command's result to stdout as JSON or as text for a person."""
    if as_json or human is None:
        sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(human(obj).rstrip("\n") + "\n")
    sys.stdout.flush()


def progress(msg: str) -> None:
    """Progress for long work goes to stderr so that stdout stays parseable."""
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def face_scan_folder() -> Path:
    """The 3D face scan the active-liveness simulator renders; bad input if not fetched."""
    from app.datasets import face3d_dir
    from app.paths import data_dir

    folder = face3d_dir(data_dir())
    if not (folder / "james.obj").is_file():
        raise BadInputError(f"no 3D face scan in {folder}: run `poh data fetch`")
    return folder
