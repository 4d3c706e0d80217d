"""Changing one setting of the configuration file on the booth (the operator PIN, the calibrated
display delay, the fleet id) while keeping every other setting as the operator wrote it.

The file is read strictly, a file that does not validate now is not rewritten (the operator must
fix it first), the result must validate whole, and it replaces the old file atomically and
durably (storage.durable), readable by its owner only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import BadInputError
from app.kiosk.config import MAX_BYTES, MAX_DEPTH, config_path, parse_config
from storage.durable import replace_file
from sync.strict_json import InputError, existing_path, parse_json, read_input_file


def read_config_document(path: Path) -> dict[str, Any]:
    """The configuration file as written ({} when there is none yet); BadInputError when it is
    unreadable, not a JSON object or does not validate."""
    if existing_path(str(path)) is None:
        if not path.parent.is_dir():
            raise BadInputError(f"{path.parent}: no such folder")
        return {}
    try:
        text = read_input_file(path, max_bytes=MAX_BYTES)  # read once: checked, then kept
    except InputError as exc:
        raise BadInputError(str(exc)) from exc
    parse_config(text, str(path))  # a file that does not validate now is not rewritten
    raw = parse_json(text, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)
    if not isinstance(raw, dict):  # parse_config refused it already; kept for the type
        raise BadInputError(f"{path}: a configuration is a JSON object")
    return raw


def update_config_section(section: str, values: Callable[[], dict[str, Any]],
                          path: Path | None = None) -> Path:
    """Merge `values()` into `section` of the configuration file (default: config_path()).
    `values` is called only once the current file has been read and checked, so a prompt in it
    (the PIN) is never answered for a file that cannot be written."""
    path = path or config_path()
    doc = read_config_document(path)
    current = doc.get(section)
    doc = {**doc, section: {**(current if isinstance(current, dict) else {}), **values()}}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    parse_config(text, str(path))  # the whole file still validates
    replace_file(path, text.encode("utf-8"))
    return path
