"""One camera frame at two rates: the cheap tracking path always, the rest for candidates.

Every frame takes detection, mesh, pose and blendshapes (`FacePipeline.track`) and the quality
cues; the first cue is the one instruction to show. A candidate (one face with a mesh, every
cue clear) is completed with the embedding and the age, and with the anti-spoofing network only
when the workflow's method uses its score: the result equals a full analysis of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.flow.services import BgrImage
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig, QualityReport, assess_quality
from inference.types import FrameAnalysis


@dataclass(frozen=True)
class FrameSeen:
    analysis: FrameAnalysis  # complete for a candidate, tracking only otherwise
    report: QualityReport
    faces: int

    @property
    def cue(self) -> str | None:
        return self.report.codes[0] if self.report.codes else None

    @property
    def candidate(self) -> bool:
        return self.faces == 1 and self.report.ok and self.analysis.faces[0].landmarks is not None

    @property
    def face_quality(self) -> QualityReport | None:
        """The quality verdict the session engine judges (only for a single face)."""
        return self.report if self.faces == 1 else None


def analyse_frame(pipeline: FacePipeline, quality: QualityConfig, image: BgrImage, *,
                  antispoof: bool) -> FrameSeen:
    tracked = pipeline.track(image)
    faces = tracked.faces
    report = assess_quality(image, faces[0] if len(faces) == 1 else None, len(faces), quality)
    seen = FrameSeen(tracked, report, len(faces))
    if not seen.candidate:
        return seen
    return FrameSeen(pipeline.complete(image, tracked, antispoof=antispoof), report, len(faces))
