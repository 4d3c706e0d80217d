"""The frozen booth bundle checks its models before it runs a command: every model of the
manifest present and matching its sha256, and the embedder's OpenVINO file made from that
verified model. A damaged or tampered bundle stops with one line, never with a pipeline that
loads whatever file is there.

The commands that report or repair the models (`poh models ...`, `poh doctor`) and `--version` /
`--help` run without the check, so a booth with a broken model can still say so and take a pack.
"""

from __future__ import annotations

from pathlib import Path

# first non-option word of `poh ...` that runs without the check
UNCHECKED_COMMANDS = frozenset({"models", "doctor"})
UNCHECKED_FLAGS = frozenset({"--version", "--help", "-h"})


def needs_check(argv: list[str]) -> bool:
    if not argv or any(a in UNCHECKED_FLAGS for a in argv):
        return False
    first = next((a for a in argv if not a.startswith("-")), None)
    return first not in UNCHECKED_COMMANDS


def model_problem(models_dir: Path) -> str | None:
    """None when every model verifies, else one line naming the first problem and the fix."""
    from inference.model_store import EMBEDDER_IR, embedder_stamp, list_models, sha256_file

    fix = "the bundle is damaged: `poh models import PACK` from a model pack, or reinstall it"
    embedder_sha = None
    for s in list_models(models_dir):
        if not s.present:
            return f"model {s.name} is missing ({s.path}); {fix}"
        if not s.verified:
            return f"model {s.name} ({s.path}) differs from its sha256 in the manifest; {fix}"
        if s.name == "face_embedder":
            embedder_sha = sha256_file(s.path)
    ir = models_dir / EMBEDDER_IR
    stamp = models_dir / (EMBEDDER_IR + ".source-sha256")
    if not (ir.is_file() and ir.with_suffix(".bin").is_file() and stamp.is_file()):
        return f"the embedder's OpenVINO file {ir.name} is missing; {fix}"
    if embedder_sha is not None and stamp.read_text(encoding="ascii").strip() != embedder_stamp(
            embedder_sha):
        return f"the embedder's OpenVINO file {ir.name} was not made from the verified model; {fix}"
    return None
