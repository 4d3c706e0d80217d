"""`poh eval faces DIR`: verification accuracy of the real pipeline on a folder of identities."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.images import load_image
from app.errors import BadInputError
from app.lab.evaluation.verification_metrics import (
    VerificationReport,
    pair_scores,
    verification_report,
)
from inference.pipeline import FacePipeline, prepare_tight_face

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class FaceEvalResult:
    identities: int
    images: int
    failed_to_enrol: int
    failures: tuple[str, ...]
    report: VerificationReport

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failures"] = list(self.failures)
        return d


def identity_images(root: Path) -> list[tuple[str, Path]]:
    if not root.is_dir():
        raise BadInputError(f"{root}: not a folder (expected one sub-folder per identity)")
    items = [
        (sub.name, f)
        for sub in sorted(p for p in root.iterdir() if p.is_dir())
        for f in sorted(sub.iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if len({label for label, _ in items}) < 2:
        raise BadInputError(f"{root}: needs at least two identity sub-folders holding images")
    return items


def evaluate_faces(
    root: Path,
    pipeline: FacePipeline,
    *,
    tight: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> FaceEvalResult:
    items = identity_images(root)
    embeddings: list[np.ndarray] = []
    labels: list[str] = []
    failures: list[str] = []
    for n, (label, path) in enumerate(items, 1):
        frame = load_image(path)
        if tight:
            frame = prepare_tight_face(frame)
        analysis = pipeline.analyze(frame, antispoof=False, age=False)
        faces = [f for f in analysis.faces if f.embedding is not None]
        if len(faces) != 1:
            failures.append(f"{label}/{path.name}: {len(faces)} faces")
        else:
            embeddings.append(faces[0].embedding)  # type: ignore[arg-type]
            labels.append(label)
        if on_progress is not None and (n % 25 == 0 or n == len(items)):
            on_progress(n, len(items))
    if len(embeddings) < 2:
        raise BadInputError(f"{root}: fewer than two faces could be embedded")
    genuine, impostor = pair_scores(np.stack(embeddings), labels)
    return FaceEvalResult(
        identities=len(set(labels)),
        images=len(items),
        failed_to_enrol=len(failures),
        failures=tuple(failures),
        report=verification_report(genuine, impostor),
    )


def render(result: FaceEvalResult) -> str:
    r = result.report
    lines = [
        f"identities {result.identities}, images {result.images}, "
        f"failed to enrol {result.failed_to_enrol}",
        f"genuine pairs {r.genuine_pairs}, impostor pairs {r.impostor_pairs}",
        f"EER {r.eer:.2%} at cosine {r.eer_threshold:.3f}",
        f"lowest genuine cosine {r.genuine_min:.3f}, highest impostor cosine {r.impostor_max:.3f}",
    ]
    for p in r.points:
        if p.threshold is None:
            lines.append(f"FMR {p.target_fmr:g}: too few impostor pairs to carry this rate")
        else:
            lines.append(
                f"FMR {p.target_fmr:g}: threshold {p.threshold:.3f}, measured FMR {p.fmr:.4%}, "
                f"FNMR {p.fnmr:.2%} ({p.false_non_matches} of {r.genuine_pairs} genuine pairs)"
            )
    for f in result.failures[:10]:
        lines.append(f"  not enrolled: {f}")
    return "\n".join(lines)
