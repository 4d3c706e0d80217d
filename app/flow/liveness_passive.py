"""Passive liveness over a session's frames, adapted to the session engine's LivenessInput.

The passive analyzer scores one frame; a session has several. The session's score is the median
of the frame scores (robust to one odd frame), and it is an attack when most frames were declined
as one. The challenge-response digest binds the session nonce to the exact pixels analysed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from app.capture.frames import frame_digest
from app.capture.plan import ChallengePlan
from app.capture.recording import Recording
from app.flow.codes import liveness_warnings
from app.flow.services import BgrImage
from app.session.inputs import LivenessInput
from inference.codes import LivenessCode
from inference.passive.liveness import PassiveLiveness
from inference.types import FrameAnalysis
from sync.verdict import response_digest
from sync.vocabulary import LivenessMethod

log = logging.getLogger(__name__)

# the workflow's thresholds judge the session score itself
_SCORE_CODES = {LivenessCode.LIVENESS_FACE_ATTACK, LivenessCode.LOW_LIVENESS_SCORE}


class PassiveSessionLiveness:
    method = LivenessMethod.PASSIVE

    def __init__(self, analyzer: PassiveLiveness) -> None:
        self._analyzer = analyzer

    def plan(self, nonce: bytes) -> ChallengePlan | None:
        return None  # nothing is drawn: the frames themselves are analysed

    def analyze(self, frames: Sequence[BgrImage], analyses: Sequence[FrameAnalysis],
                nonce: bytes, response: Recording | None = None) -> LivenessInput:
        if response is not None:
            raise ValueError("passive liveness takes no challenge recording")
        if not frames or len(frames) != len(analyses):
            raise ValueError("liveness needs the accepted frames and their analyses, paired")
        results = [self._analyzer.assess(f, a.faces) for f, a in zip(frames, analyses,
                                                                      strict=True)]
        scores = [r.score for r in results]
        attacks = sum(1 for r in results if LivenessCode.LIVENESS_FACE_ATTACK in r.warnings)
        # other codes count when most frames raise them
        votes: dict[LivenessCode, int] = {}
        for r in results:
            for c in set(r.warnings) - _SCORE_CODES:
                votes[c] = votes.get(c, 0) + 1
        codes = liveness_warnings(c for c, n in votes.items() if n * 2 > len(results))
        score = float(np.median(scores))
        attack = attacks * 2 > len(results)
        log.info("passive liveness over %d frames: median %.1f, %d flagged as attack",
                 len(results), score, attacks)
        digest = response_digest(nonce, [frame_digest(f) for f in frames])
        return LivenessInput(self.method, score, attack, codes, digest)
