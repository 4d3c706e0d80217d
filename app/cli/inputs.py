"""Path and inline options of the CLI, checked before any work starts (bad input: exit 2).

A folder or a FIFO where a file is expected, a name the system cannot look up ("File name too
long" for a token pasted inline), an output path whose folder does not exist: each is refused in
one line before a model is compiled or a session is started, never half-way through.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.errors import BadInputError
from sync.strict_json import InputError, existing_path, read_input_file


def _show(text: str, limit: int = 80) -> str:
    one = text if text.isprintable() else repr(text)
    return one if len(one) <= limit else one[: limit - 3] + "..."


def input_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """A regular file's bytes (at most max_bytes); anything else is bad input naming `what`."""
    try:
        return read_input_file(path, max_bytes=max_bytes)
    except InputError as exc:
        raise BadInputError(f"{what}: {exc}") from exc


def inline_or_file(text: str, what: str, max_bytes: int) -> str:
    """Text given inline, or the path of a regular file holding it (UTF-8).

    A name that does not exist, or that the system cannot even look up (too long, a NUL byte),
    is the text itself; an existing folder or special file is refused."""
    path = existing_path(text)
    if path is None:
        return text
    raw = input_bytes(path, what, max_bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{what}: {_show(text)}: not UTF-8 text") from exc


def output_file(path: Path | None, what: str) -> Path | None:
    """An output path that can be written: not a folder or special file, in an existing folder.

    Checked before the work that produces the output, so that a session is never run (and a
    verdict never signed) only to fail at writing it."""
    if path is None:
        return None
    shown = _show(str(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a name too long, a component that is a file, permission denied
        raise BadInputError(f"{what}: {shown}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # an embedded NUL byte
        raise BadInputError(f"{what}: {shown}: not a usable file name") from exc
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise BadInputError(f"{what}: {shown}: is a folder; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise BadInputError(f"{what}: {shown}: not a regular file")
        if not os.access(path, os.W_OK):
            raise BadInputError(f"{what}: {shown}: not writable")
        return path
    parent = path.parent
    if not parent.is_dir():
        raise BadInputError(f"{what}: {shown}: folder {_show(str(parent))} does not exist")
    if not os.access(parent, os.W_OK):
        raise BadInputError(f"{what}: {shown}: folder {_show(str(parent))} is not writable")
    return path


def text_option(value: str, option: str, limit: int) -> str:
    """Free text that goes into a signed verdict or the database: not empty, bounded, no
    control characters, and UTF-8 (bytes that were not UTF-8 arrive as lone surrogates, which a
    verdict cannot carry)."""
    if not value.strip():
        raise BadInputError(f"{option} must not be empty")
    if len(value) > limit:
        raise BadInputError(f"{option} longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadInputError(f"{option} must not hold control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInputError(f"{option} must be UTF-8 text") from exc
    return value
