"""Enrollment, 1:N search, blocklist and erasure from images: the pipeline plus the store.

One face per image: none is NO_FACE_DETECTED, several is MULTIPLE_FACES_DETECTED, a face whose
mesh was too weak to embed is LOW_FACE_QUALITY. Decisions on the matches use the workflow's
FaceSearchConfig through the session engine's own `judge_search`, so `poh search` answers
exactly as a session would.

similarity_score is the cosine similarity of the two templates (-1..1, in practice 0..1),
rounded to 4 decimals, the same scale as the workflow thresholds; Didit shows a percentage:
100 x similarity_score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.session.decision import judge_search
from app.session.inputs import SearchInput, SearchMatch
from app.workflows.model import (
    FaceSearchConfig,
    FaceSearchFeature,
    LivenessFeature,
    Workflow,
)
from inference.pipeline import FacePipeline, prepare_tight_face
from storage.face_store import FaceStore, SearchHits
from sync.reports import FaceSearchReport, warning_items
from sync.vocabulary import FeatureStatus, WarningCode

BgrImage = npt.NDArray[np.uint8]
Template = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FaceTemplate:
    """The one face of an image, or the warning that says why there is none."""

    embedding: Template | None
    warning: WarningCode | None
    faces: int


def face_template(pipeline: FacePipeline, image: BgrImage, tight: bool = False) -> FaceTemplate:
    """Embed the single face of an image (tight: the face fills the image, as in ORL)."""
    frame = prepare_tight_face(image) if tight else image
    analysis = pipeline.analyze(frame, antispoof=False, age=False, landmarks=False)
    faces = analysis.faces
    if not faces:
        return FaceTemplate(None, WarningCode.NO_FACE_DETECTED, 0)
    if len(faces) > 1:
        # every face found, not only the max_faces the pipeline went on to analyse
        return FaceTemplate(None, WarningCode.MULTIPLE_FACES_DETECTED, analysis.faces_found)
    emb = faces[0].embedding
    if emb is None:
        return FaceTemplate(None, WarningCode.LOW_FACE_QUALITY, 1)
    return FaceTemplate(np.asarray(emb, dtype=np.float32), None, 1)


def _search_workflow(cfg: FaceSearchConfig) -> Workflow:
    return Workflow(workflow_id="poh-search", version=1, workflow_label="poh search",
                    features=(LivenessFeature(feature="LIVENESS"),
                              FaceSearchFeature(feature="FACE_SEARCH", config=cfg)))


def search_input(hits: SearchHits, gallery_size: int) -> SearchInput:
    matches = [SearchMatch(vendor_data=m.vendor_data, similarity=m.cosine,
                           session_id=m.session_id, blocklisted=m.kind == "blocklist")
               for m in (*hits.blocklist, *hits.enrolled)]
    matches.sort(key=lambda m: m.similarity, reverse=True)
    return SearchInput(matches=tuple(matches), gallery_size=gallery_size)


def judge(hits: SearchHits, cfg: FaceSearchConfig, gallery_size: int) -> FaceSearchReport:
    report, _ = judge_search(_search_workflow(cfg), search_input(hits, gallery_size))
    if report is None:  # the workflow above always holds FACE_SEARCH
        raise RuntimeError("face search report missing")
    return report


def not_finished(warning: WarningCode) -> FaceSearchReport:
    return FaceSearchReport(status=FeatureStatus.NOT_FINISHED,
                            warnings=warning_items([warning]))


def thresholds_dict(cfg: FaceSearchConfig) -> dict[str, Any]:
    return {
        "scale": "cosine similarity of the templates; similarity_score uses the same scale",
        "review_threshold": cfg.review_threshold,
        "duplicate_action": cfg.duplicate_action.value,
        "decline_threshold": cfg.decline_threshold,
        "blocklist": "a blocklist match at or above review_threshold declines",
    }


class StoreFaceSearch:
    """The session runner's FaceSearchService on the real store (HNSW + delta)."""

    def __init__(self, store: FaceStore) -> None:
        self._store = store

    def search(self, template: Template, k: int) -> SearchInput:
        hits = self._store.search(template, k)
        return search_input(hits, self._store.gallery_size())

    def enroll(self, vendor_data: str, session_id: str, template: Template) -> None:
        self._store.enroll(vendor_data, template, session_id=session_id)


def default_search_config(workflow_path: Path | None) -> FaceSearchConfig:
    """FACE_SEARCH config of the given workflow, else of the default workflow."""
    from app.workflows.loader import DEFAULT_WORKFLOW, load_workflow

    wf = load_workflow(workflow_path or DEFAULT_WORKFLOW)
    feature = wf.face_search
    return feature.config if feature is not None else FaceSearchConfig()
