"""The one strict JSON reader: every input that matters for security or configuration goes here.

Python's `json` is lenient where it hurts: it keeps the *last* of two equal keys (so
`{"revoked": ["<jti>"], "revoked": []}` silently revokes nothing), reads `NaN`, `Infinity` and
`1e400` (an infinite timeout), turns a 5,000-digit integer into a ValueError and a document nested
100,000 levels deep into a RecursionError (crashes instead of refusals). This reader accepts
I-JSON (RFC 7493) and no more:

- UTF-8 only, no lone surrogates (`"\\ud800"`) in any string or key;
- a key at most once per object;
- numbers that every consumer can hold: integers within +-(2**53 - 1) (what a signed, RFC 8785
  canonical document can carry), finite floats only, no NaN or Infinity;
- at most `max_depth` levels of nesting and `max_bytes` bytes.

Every refusal is an `InputError` whose str() is one line. Files are read with `read_input_file`:
regular files only (a folder, a FIFO or /dev/zero is refused before it is read), never more than
`max_bytes`, and every OSError (missing, unreadable, a name too long) becomes a one-line refusal.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer an IEEE double (and RFC 8785) holds exactly
DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_DEPTH = 32
_MAX_INT_DIGITS = len(str(MAX_SAFE_INTEGER))
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """An input file or document is refused; str() is one line."""


class InputFileError(InputError):
    """The file cannot be used: missing, a folder or special file, unreadable, too large."""


class StrictJsonError(InputError):
    """The bytes are not a document this reader accepts (see the module docstring)."""


def _show(text: str, limit: int = 60) -> str:
    """A short, one-line rendering of user-supplied text for an error message."""
    one = text if text.isprintable() else repr(text)
    return one if len(one) <= limit else one[: limit - 3] + "..."


def _on_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJsonError(f"{_show(key)}: key appears twice in one object")
        out[key] = value
    return out


class _Refused:
    """A number the reader will not hand on; the tree check reports it with its place."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _on_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _on_int(text: str) -> int | _Refused:
    # the length first: int() of 5,000 digits would raise (and is slow before that)
    if len(text.lstrip("-")) <= _MAX_INT_DIGITS:
        value = int(text)
        if abs(value) <= MAX_SAFE_INTEGER:
            return value
    return _Refused(f"integer {_show(text, 24)} is out of range (at most {MAX_SAFE_INTEGER} "
                    f"in magnitude)")


def _on_float(text: str) -> float | _Refused:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Refused(f"number {_show(text, 24)} is out of range (not a finite number)")


def _check_tree(value: Any, max_depth: int) -> None:
    """Depth, refused numbers and strings, in document order and without recursion (a deep
    document must not crash the check); a refusal names the place, as `a.b.0.c`."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        where = ".".join(path)
        prefix = f"{_show(where, 80)}: " if where else ""
        if isinstance(item, _Refused):
            raise StrictJsonError(prefix + item.why)
        if isinstance(item, dict | list):
            if len(path) >= max_depth:
                raise StrictJsonError(f"{prefix}nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                for key in item:
                    if _SURROGATE.search(key):
                        raise StrictJsonError(f"{prefix}key {_show(key)} holds a lone "
                                              f"surrogate (not UTF-8)")
                children = [(sub, (*path, key)) for key, sub in item.items()]
            else:
                children = [(sub, (*path, str(i))) for i, sub in enumerate(item)]
            stack.extend(reversed(children))
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise StrictJsonError(f"{prefix}string {_show(item)} holds a lone surrogate "
                                  f"(not UTF-8)")


def parse_json(raw: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode one JSON document strictly; StrictJsonError (one line) on anything else."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StrictJsonError("not UTF-8 text") from exc
    if len(raw) > max_bytes:
        raise StrictJsonError(f"{len(raw)} bytes, larger than {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJsonError("not UTF-8 text") from exc
    try:
        value = json.loads(text, object_pairs_hook=_on_pairs, parse_constant=_on_constant,
                           parse_int=_on_int, parse_float=_on_float)
    except json.JSONDecodeError as exc:
        raise StrictJsonError(f"not valid JSON (line {exc.lineno} column {exc.colno}: "
                              f"{exc.msg})") from exc
    except RecursionError as exc:
        raise StrictJsonError(f"nested more than {max_depth} levels deep") from exc
    except StrictJsonError:
        raise
    except ValueError as exc:  # anything else json or a number conversion may raise
        raise StrictJsonError(f"not valid JSON ({_show(str(exc))})") from exc
    _check_tree(value, max_depth)
    return value


def read_input_file(path: Path, *, max_bytes: int) -> bytes:
    """A regular file's bytes, at most max_bytes; InputFileError (one line, naming it) else.

    The file is opened without blocking and checked before anything is read: a folder, a FIFO,
    a device (/dev/zero, /dev/stdin) or a socket is refused, and so is a name the system cannot
    even look up (too long, a component that is not a folder)."""
    where = _show(str(path), 100)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise InputFileError(f"{where}: no such file") from exc
    except IsADirectoryError as exc:  # Windows and some systems refuse to open a folder
        raise InputFileError(f"{where}: is a folder, not a file") from exc
    except PermissionError as exc:
        raise InputFileError(f"{where}: permission denied") from exc
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise InputFileError(f"{where}: file name too long") from exc
        if exc.errno == errno.ENOTDIR:
            raise InputFileError(f"{where}: no such file") from exc
        raise InputFileError(f"{where}: cannot open ({exc.strerror or exc})") from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputFileError(f"{where}: is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(f"{where}: not a regular file")
        if st.st_size > max_bytes:
            raise InputFileError(f"{where}: {st.st_size} bytes, larger than {max_bytes}")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputFileError(f"{where}: cannot read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    if size > max_bytes:  # grew while being read
        raise InputFileError(f"{where}: larger than {max_bytes} bytes")
    return b"".join(chunks)


def read_json_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """read_input_file + parse_json; a JSON refusal names the file."""
    raw = read_input_file(path, max_bytes=max_bytes)
    try:
        return parse_json(raw, max_bytes=max_bytes, max_depth=max_depth)
    except StrictJsonError as exc:
        raise StrictJsonError(f"{_show(str(path), 100)}: {exc}") from exc


def existing_path(text: str) -> Path | None:
    """`text` as the path of an existing file or folder, else None (also when the system cannot
    look the name up: too long, a NUL byte). Lets a CLI option take inline text or a file."""
    try:
        path = Path(text)
        os.stat(path)
    except (OSError, ValueError):
        return None
    return path


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "InputError",
    "InputFileError",
    "StrictJsonError",
    "existing_path",
    "parse_json",
    "read_input_file",
    "read_json_file",
]
