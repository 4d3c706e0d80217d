"""Shared CLI plumbing: JSON/human output and option types (bad input: app.errors)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from app.errors import BadInputError

__all__ = ["BadInputError", "JsonOpt", "emit", "progress"]


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
