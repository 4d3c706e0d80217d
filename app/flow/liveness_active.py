"""Active liveness (FLASHING, ACTIVE_3D) for the session engine: the challenge recording is
checked against the plan recomputed from the session's nonce, analysed, and its digest bound
into the verdict.

The plan is drawn with the screen's halves lit apart or not (`halves`, the configuration's
active_liveness.screen_halves); the screen draws `plan(nonce)` and the check recomputes that
same plan, so a session keeps the choice it started with even if the configuration changes
under it (the composition root builds a session's parts once).

The session's template comes from frames the capture step accepted; the challenge is answered
in the recording. Both must show the same person: the face in the middle of the flash sequence
is compared with the accepted frames, so a live helper answering the flash cannot lend their
liveness to someone else's photo in front of the camera before or after it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from app.capture.analyze import analyze_recording
from app.capture.challenge import ChallengeConfig, digest_of, response_mismatch
from app.capture.plan import ChallengePlan, make_plan
from app.capture.recording import Recording
from app.flow.codes import liveness_warnings
from app.flow.services import BgrImage
from app.session.inputs import LivenessInput
from inference.active.analyzer import ActiveLiveness
from inference.pipeline import FacePipeline
from inference.types import FrameAnalysis
from sync.vocabulary import LivenessMethod, WarningCode

log = logging.getLogger(__name__)

W = WarningCode


class ChallengeRefused(ValueError):
    """The recording does not answer this session's challenge (replay, other plan, other face)."""


class ActiveSessionLiveness:
    def __init__(self, method: LivenessMethod, analyzer: ActiveLiveness,
                 pipeline: FacePipeline, config: ChallengeConfig | None = None, *,
                 halves: bool = False) -> None:
        if method is LivenessMethod.PASSIVE:
            raise ValueError("active liveness answers FLASHING or ACTIVE_3D workflows")
        self.method: LivenessMethod = method
        self.halves = halves
        self._analyzer = analyzer
        self._pipeline = pipeline
        self._config = config or ChallengeConfig()

    def plan(self, nonce: bytes) -> ChallengePlan:
        return make_plan(self.method.value, nonce, halves=self.halves)

    def analyze(self, frames: Sequence[BgrImage], analyses: Sequence[FrameAnalysis],
                nonce: bytes, response: Recording | None = None) -> LivenessInput:
        """Raises ChallengeRefused (the runner declines with its reason) or returns the result."""
        if response is None:
            raise ChallengeRefused(f"{self.method} liveness needs the challenge recording")
        mismatch = response_mismatch(self.plan(nonce), response, self._config.cue_tolerance_s)
        if mismatch is not None:
            raise ChallengeRefused(mismatch)
        self._check_same_face(analyses, response)
        result = analyze_recording(self._analyzer, response, self._config.display_delay_s)
        codes = liveness_warnings(result.warnings)
        attack = result.status != "Approved" and W.LIVENESS_FACE_ATTACK in codes
        log.info("%s liveness: %s, score %.1f (%.0f ms)", self.method, result.status,
                 result.score, result.figures.get("analysis_ms", 0.0))
        score = result.score if result.status == "Approved" else min(result.score, 49.0)
        if result.status != "Approved" and not codes:
            codes = (W.LOW_LIVENESS_SCORE,)
        return LivenessInput(self.method, score, attack, codes, digest_of(response))

    def _check_same_face(self, analyses: Sequence[FrameAnalysis], rec: Recording) -> None:
        accepted = [f.embedding for a in analyses for f in a.faces[:1] if f.embedding is not None]
        if not accepted:
            raise ChallengeRefused("no accepted face to compare the challenge face with")
        c0 = min(c.t_start for c in rec.colours)
        c1 = max(c.t_end for c in rec.colours)
        times = np.asarray(rec.times)
        inside = np.nonzero((times >= c0) & (times <= c1))[0]
        if len(inside) == 0:
            raise ChallengeRefused("no frame was captured during the flash sequence")
        # only the embedding is compared: no anti-spoofing or age on this frame
        seen = self._pipeline.analyze(rec.frames[int(inside[len(inside) // 2])],
                                      antispoof=False, age=False)
        if len(seen.faces) != 1 or seen.faces[0].embedding is None:
            raise ChallengeRefused(f"{len(seen.faces)} faces in the middle of the challenge")
        ref = np.mean(np.stack(accepted), axis=0)
        ref /= max(float(np.linalg.norm(ref)), 1e-9)
        sim = float(np.dot(ref, seen.faces[0].embedding))
        log.info("challenge face vs accepted frames: cosine %.3f", sim)
        if sim < self._config.same_face_min:
            raise ChallengeRefused("the face answering the challenge is not the captured face")
