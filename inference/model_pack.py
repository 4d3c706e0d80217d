"""Offline model packs: every model of the manifest in one archive file, for a booth that has no
network (`poh models export PACK` on a machine that has them, `poh models import PACK` on the
booth, from a USB stick).

A pack is an uncompressed tar archive (the models hardly compress) holding an index
(`poh-model-pack.json`: the pack format and each model's name, file and sha256) and the model
files under `models/`. The derived OpenVINO file of the embedder is not packed: import makes it
again from the verified source model, as `poh models fetch` does.

Import reads only the members it expects by name (never `extractall`: no link, path or device in
a pack can reach the file system), writes them into a staging folder beside the models, checks
every file against the sha256 of the manifest this build carries and only then moves them into
place, one `os.replace` a file. Every file it moves is verified against that same manifest, so an
import cut short leaves each model either as it was or replaced by its verified copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.manifest import ModelEntry, load_manifest
from inference.model_store import EMBEDDER_IR, list_models, prepare_embedder

log = logging.getLogger(__name__)

PACK_FORMAT = "poh-model-pack"
PACK_VERSION = 1
INDEX_NAME = "poh-model-pack.json"
MEMBER_DIR = "models"
MAX_MODEL_BYTES = 256 * 1024 * 1024  # far above any model here; a pack cannot fill the disk
_CHUNK = 1 << 20


class ModelPackError(ValueError):
    """A pack that cannot be exported or imported; the message says which file and why."""


@dataclass(frozen=True)
class PackedModel:
    name: str
    file: str
    sha256: str
    size: int


def export_pack(models_dir: Path, pack: Path) -> list[PackedModel]:
    """Write every manifest model of `models_dir` into the new file `pack`, after checking each
    against its sha256 (a pack never carries a model that does not verify)."""
    if pack.exists():
        raise ModelPackError(f"{pack} exists already: name a new file")
    if not pack.parent.is_dir():
        raise ModelPackError(f"{pack.parent}: no such folder")
    statuses = {s.name: s for s in list_models(models_dir)}
    bad = [n for n, s in statuses.items() if not s.verified]
    if bad:
        raise ModelPackError(f"cannot export from {models_dir}: missing or not matching the "
                             f"manifest's sha256: {', '.join(bad)}")
    entries = load_manifest()
    packed = [PackedModel(e.name, e.file, e.sha256, (models_dir / e.file).stat().st_size)
              for e in entries]
    index = {"format": PACK_FORMAT, "version": PACK_VERSION,
             "models": [{"name": p.name, "file": p.file, "sha256": p.sha256, "size": p.size}
                        for p in packed]}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{pack.name}.", suffix=".part", dir=pack.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, INDEX_NAME, json.dumps(index, indent=2).encode() + b"\n")
                for e in entries:
                    tar.add(models_dir / e.file, arcname=f"{MEMBER_DIR}/{e.file}",
                            recursive=False, filter=_plain)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # the models are public; mkstemp made it owner-only
        os.replace(tmp, pack)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(pack.parent)
    log.info("exported %d models to %s", len(packed), pack)
    return packed


def import_pack(pack: Path, models_dir: Path) -> list[PackedModel]:
    """Verify every model in `pack` against this build's manifest, then put them in
    `models_dir` (created owner-only if missing) and make the embedder's OpenVINO file."""
    entries = load_manifest()
    if not pack.is_file():
        raise ModelPackError(f"{pack}: no such file")
    models_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=models_dir))
    try:
        imported = _verify_into(pack, entries, staging)
        prepare_embedder(staging)  # from the verified MobileFaceNet, as `poh models fetch` does
        _move_into_place(staging, models_dir, [e.file for e in entries])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("imported %d models from %s into %s", len(imported), pack, models_dir)
    return imported


def _verify_into(pack: Path, entries: tuple[ModelEntry, ...],
                 staging: Path) -> list[PackedModel]:
    try:
        tar = tarfile.open(pack, mode="r:")
    except (tarfile.TarError, OSError) as exc:
        raise ModelPackError(f"{pack.name}: not a model pack ({exc})") from exc
    with tar:
        try:
            index = _read_index(tar, pack.name)
            listed = {m.get("name"): m for m in index["models"] if isinstance(m, dict)}
            out = []
            for e in entries:
                row = listed.get(e.name)
                if row is None:
                    raise ModelPackError(f"{pack.name}: model {e.name} is not in the pack")
                if row.get("sha256") != e.sha256 or row.get("file") != e.file:
                    raise ModelPackError(
                        f"{pack.name}: made for other models ({e.name}: the pack has "
                        f"{str(row.get('sha256'))[:12]}..., this build's manifest "
                        f"{e.sha256[:12]}...)")
                size = _copy_verified(tar, e, staging / e.file, pack.name)
                out.append(PackedModel(e.name, e.file, e.sha256, size))
            return out
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ModelPackError(f"{pack.name}: damaged pack ({exc})") from exc


def _read_index(tar: tarfile.TarFile, label: str) -> dict[str, Any]:
    try:
        member = tar.getmember(INDEX_NAME)
    except KeyError:
        raise ModelPackError(f"{label}: not a model pack (no {INDEX_NAME})") from None
    fh = tar.extractfile(member) if member.isfile() and member.size < 1 << 20 else None
    if fh is None:
        raise ModelPackError(f"{label}: not a model pack ({INDEX_NAME} is not a small file)")
    try:
        index = json.loads(fh.read())
    except ValueError as exc:
        raise ModelPackError(f"{label}: damaged pack index ({exc})") from exc
    if not isinstance(index, dict) or index.get("format") != PACK_FORMAT:
        raise ModelPackError(f"{label}: not a model pack (format {index.get('format')!r})"
                             if isinstance(index, dict) else f"{label}: not a model pack")
    if index.get("version") != PACK_VERSION:
        raise ModelPackError(f"{label}: pack version {index.get('version')!r}; this build "
                             f"reads version {PACK_VERSION}")
    if not isinstance(index.get("models"), list):
        raise ModelPackError(f"{label}: damaged pack index (no model list)")
    return index


def _copy_verified(tar: tarfile.TarFile, e: ModelEntry, target: Path, label: str) -> int:
    name = f"{MEMBER_DIR}/{e.file}"
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ModelPackError(f"{label}: {name} is missing from the pack") from None
    if not member.isfile():
        raise ModelPackError(f"{label}: {name} is not a regular file")
    if member.size > MAX_MODEL_BYTES:
        raise ModelPackError(f"{label}: {name} is {member.size} bytes, more than any model")
    src = tar.extractfile(member)
    if src is None:
        raise ModelPackError(f"{label}: {name} cannot be read")
    h = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in iter(lambda: src.read(_CHUNK), b""):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if h.hexdigest() != e.sha256:
        raise ModelPackError(f"{label}: {e.file} does not match the manifest's sha256 "
                             f"(expected {e.sha256[:12]}..., got {h.hexdigest()[:12]}...): "
                             f"nothing was replaced")
    return size


def _move_into_place(staging: Path, models_dir: Path, files: list[str]) -> None:
    ir = Path(EMBEDDER_IR)
    # the embedder's weights before its graph, and the stamp naming its source last: a reader
    # never takes a half-replaced IR for one made from the verified model
    derived = [ir.with_suffix(".bin").name, ir.name, ir.name + ".source-sha256"]
    for name in [*files, *derived]:
        src = staging / name
        if not src.is_file():
            raise ModelPackError(f"{name} was not prepared: nothing after it was replaced")
        os.chmod(src, 0o644)
        os.replace(src, models_dir / name)
    _fsync_dir(models_dir)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No owner names or ids of the exporting machine in the pack."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
