"""`poh eval dedup DIR`: 1:N duplicate detection on real faces, through the real store.

Protocol (ISO/IEC 19795-1 identification terms), repeated over `rounds` random splits:
- a random `enrolled_fraction` of the identities is enrolled with one image each (the first
  image in name order) into a fresh encrypted FaceStore;
- mated searches: every other image of an enrolled identity; a false negative at threshold t
  is a search whose mate is not among the k candidates with a score >= t (FNIR);
- non-mated searches: every image of an identity never enrolled; a false positive at t is a
  search with any candidate >= t (FPIR).
Rounds reuse the same images, so pooled counts are not independent trials: the report states
the counts behind each rate, and per-comparison false match counts for extrapolation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.capture.images import load_image
from app.checks.face_registry import face_template
from app.errors import BadInputError
from app.lab.evaluation.face_eval import identity_images
from inference.pipeline import FacePipeline
from storage.config import StorageConfig
from storage.face_store import FaceStore

TIGHT_MAX_SIDE = 256  # smaller images are face crops (ORL 92x112): upscale and pad them
GRID = tuple(round(t, 3) for t in np.arange(0.20, 0.901, 0.05))


@dataclass(frozen=True)
class DedupPoint:
    threshold: float
    fpir: float
    false_positives: int
    nonmated_searches: int
    fnir: float
    false_negatives: int
    mated_searches: int
    false_matches: int  # non-mated comparisons >= threshold (each search x gallery entry)
    comparisons: int


@dataclass(frozen=True)
class DedupResult:
    identities: int
    images: int
    failed_to_embed: tuple[str, ...]
    rounds: int
    enrolled_per_round: int
    never_enrolled_per_round: int
    k: int
    target_fpir: float
    review: DedupPoint
    decline: DedupPoint
    points: tuple[DedupPoint, ...]
    nonmated_top_max: float
    mated_score_min: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed_to_embed"] = list(self.failed_to_embed)
        return d


@dataclass(frozen=True)
class _Scores:
    mated: npt.NDArray[np.float64]  # the mate's score, -inf when it was not in the k list
    nonmated_top: npt.NDArray[np.float64]  # best candidate score of each non-mated search
    nonmated_all: npt.NDArray[np.float64]  # every non-mated comparison score
    comparisons: int


def embed_folder(root: Path, pipeline: FacePipeline,
                 on_progress: Callable[[int, int], None] | None = None
                 ) -> tuple[list[str], npt.NDArray[np.float32], list[str]]:
    """(labels, embeddings, failures) of every image with exactly one usable face."""
    items = identity_images(root)
    labels: list[str] = []
    embs: list[npt.NDArray[np.float32]] = []
    failures: list[str] = []
    for n, (label, path) in enumerate(items, 1):
        image = load_image(path)
        tight = max(image.shape[:2]) <= TIGHT_MAX_SIDE
        tpl = face_template(pipeline, image, tight=tight)
        if tpl.embedding is None:
            failures.append(f"{label}/{path.name}: {tpl.warning}")
        else:
            labels.append(label)
            embs.append(tpl.embedding)
        if on_progress is not None and (n % 25 == 0 or n == len(items)):
            on_progress(n, len(items))
    if len(set(labels)) < 4:
        raise BadInputError(f"{root}: fewer than four identities could be embedded")
    return labels, np.stack(embs), failures


def _round(labels: list[str], embs: npt.NDArray[np.float32], enrolled: set[str], k: int,
           home: Path) -> tuple[list[float], list[float], list[float], int]:
    mated: list[float] = []
    top: list[float] = []
    every: list[float] = []
    first: dict[str, int] = {}
    for i, lab in enumerate(labels):
        first.setdefault(lab, i)
    with FaceStore.open(StorageConfig(home=home), home) as store:
        for lab in sorted(enrolled):
            store.enroll(lab, embs[first[lab]])
        gallery = len(enrolled)
        comparisons = 0
        for i, lab in enumerate(labels):
            if lab in enrolled and first[lab] == i:
                continue
            if lab in enrolled:
                hits = store.search(embs[i], k).enrolled
                mate = [h.cosine for h in hits if h.vendor_data == lab]
                mated.append(mate[0] if mate else -np.inf)
            else:  # every comparison, for the per-comparison false match count
                hits = store.search(embs[i], gallery).enrolled
                top.append(hits[0].cosine if hits else -np.inf)
                every.extend(h.cosine for h in hits)
                comparisons += gallery
    return mated, top, every, comparisons


def search_scores(labels: list[str], embs: npt.NDArray[np.float32], rounds: int,
                  enrolled_fraction: float, k: int, seed: int) -> tuple[_Scores, int, int]:
    identities = sorted(set(labels))
    n_enrolled = max(1, min(len(identities) - 1, round(enrolled_fraction * len(identities))))
    rng = np.random.default_rng(seed)
    mated: list[float] = []
    top: list[float] = []
    every: list[float] = []
    comparisons = 0
    for _ in range(rounds):
        enrolled = {identities[i] for i in rng.permutation(len(identities))[:n_enrolled]}
        with tempfile.TemporaryDirectory(prefix="poh_dedup_") as tmp:
            m, t, e, c = _round(labels, embs, enrolled, k, Path(tmp))
        mated += m
        top += t
        every += e
        comparisons += c
    scores = _Scores(np.asarray(mated), np.asarray(top), np.asarray(every), comparisons)
    return scores, n_enrolled, len(identities) - n_enrolled


def point(s: _Scores, threshold: float) -> DedupPoint:
    fp = int(np.sum(s.nonmated_top >= threshold))
    fn = int(np.sum(s.mated < threshold))
    return DedupPoint(
        threshold=round(threshold, 4),
        fpir=fp / max(1, len(s.nonmated_top)), false_positives=fp,
        nonmated_searches=len(s.nonmated_top),
        fnir=fn / max(1, len(s.mated)), false_negatives=fn, mated_searches=len(s.mated),
        false_matches=int(np.sum(s.nonmated_all >= threshold)), comparisons=s.comparisons)


def calibrate(s: _Scores, target_fpir: float, decline_margin: float) -> tuple[DedupPoint,
                                                                              DedupPoint]:
    """Review: the lowest 0.01 step with FPIR <= target. Decline: a margin above the highest
    non-mated score seen (FPIR 0 on this data), for workflows that opt into auto-decline."""
    fine = np.round(np.arange(0.0, 1.0001, 0.01), 2)
    review_t = next((float(t) for t in fine
                     if np.mean(s.nonmated_top >= t) <= target_fpir), 1.0)
    highest = float(np.max(s.nonmated_top)) if len(s.nonmated_top) else 0.0
    decline_t = min(1.0, float(np.ceil((highest + decline_margin) * 100) / 100))
    return point(s, review_t), point(s, max(decline_t, review_t))


def evaluate_dedup(root: Path, pipeline: FacePipeline, *, rounds: int = 10,
                   enrolled_fraction: float = 0.5, k: int = 5, target_fpir: float = 0.01,
                   decline_margin: float = 0.10, seed: int = 1,
                   on_progress: Callable[[int, int], None] | None = None) -> DedupResult:
    labels, embs, failures = embed_folder(root, pipeline, on_progress)
    scores, n_enr, n_never = search_scores(labels, embs, rounds, enrolled_fraction, k, seed)
    review, decline = calibrate(scores, target_fpir, decline_margin)
    finite = scores.mated[np.isfinite(scores.mated)]
    return DedupResult(
        identities=len(set(labels)), images=len(labels) + len(failures),
        failed_to_embed=tuple(failures), rounds=rounds, enrolled_per_round=n_enr,
        never_enrolled_per_round=n_never, k=k, target_fpir=target_fpir,
        review=review, decline=decline,
        points=tuple(point(scores, t) for t in GRID),
        nonmated_top_max=round(float(np.max(scores.nonmated_top)), 4),
        mated_score_min=round(float(np.min(finite)), 4) if len(finite) else float("nan"),
        note=("rounds reuse the same images: pooled searches are not independent; an FPIR "
              "of 0 here bounds the true rate only to about 3/nonmated_searches per round "
              "(rule of three); FPIR grows with the gallery size, roughly "
              "1-(1-FMR)^N with FMR = false_matches/comparisons"),
    )


def render(r: DedupResult) -> str:
    lines = [
        f"identities {r.identities}, images {r.images}, failed to embed "
        f"{len(r.failed_to_embed)}; {r.rounds} rounds of {r.enrolled_per_round} enrolled "
        f"(1 image each) and {r.never_enrolled_per_round} never enrolled, k={r.k}",
        f"mated searches {r.review.mated_searches}, non-mated searches "
        f"{r.review.nonmated_searches}, non-mated comparisons {r.review.comparisons}",
        f"lowest mated score {r.mated_score_min:.3f}, highest non-mated score "
        f"{r.nonmated_top_max:.3f}",
        "threshold   FPIR (count)          FNIR (count)          false matches",
    ]
    for p in r.points:
        lines.append(_row(p))
    lines.append(f"review threshold (FPIR <= {r.target_fpir:g}): " + _row(r.review).strip())
    lines.append("decline threshold (margin over the top non-mated score): "
                 + _row(r.decline).strip())
    for f in r.failed_to_embed[:10]:
        lines.append(f"  not embedded: {f}")
    return "\n".join(lines)


def _row(p: DedupPoint) -> str:
    return (f"  {p.threshold:5.2f}   {p.fpir:7.2%} ({p.false_positives:4d}/"
            f"{p.nonmated_searches})   {p.fnir:7.2%} ({p.false_negatives:4d}/"
            f"{p.mated_searches})   {p.false_matches}/{p.comparisons}")
