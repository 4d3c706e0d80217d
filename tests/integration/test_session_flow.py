"""The push-based session flow on the real pipeline and a real encrypted database.

Frames are pushed with their capture times, as the kiosk's camera thread does; the camera is the
only fake (frames from clips made of real portraits). Each test asserts the typed events.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import open_source
from app.errors import BadInputError
from app.flow.controller import SessionFlow
from app.flow.events import (
    ChallengePlanned,
    CueChanged,
    FlowEvent,
    Progress,
    ResultReady,
    SessionFailed,
    Stage,
    StageChanged,
)
from app.kiosk.root import Kiosk
from app.lab.demo_clips import make_demo_clips
from app.session.events import FrameAccepted, RetakeRequested, StatusChanged
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind, SessionStatus, WarningCode

S = SessionStatus
CAMERA = CaptureSource(kind=CaptureKind.CAMERA, detail="camera 0 (test frames)")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from app.paths import data_dir
    return make_demo_clips(data_dir() / "colour", tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def live_frames(clips: dict[str, Path]) -> list[np.ndarray]:
    return [f.image for f in open_source(str(clips["live"]))]


def _started(kiosk: Kiosk, vendor: str = "alice") -> tuple[SessionFlow, list[FlowEvent]]:
    flow = kiosk.new_session(CAMERA, vendor)
    seen: list[FlowEvent] = []
    flow.subscribe(seen.append)
    flow.start(0.0)
    return flow, seen


def _push(flow: SessionFlow, frames: list[np.ndarray], t0: float, fps: float = 25.0) -> float:
    t = t0
    for i, img in enumerate(frames):
        t = t0 + i / fps
        flow.push_frame(img, t)
        if flow.finished:
            break
    return t


def test_passive_session_events_in_order(kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    flow, seen = _started(kiosk)
    assert StageChanged(Stage.CONSENT) in seen
    # nothing is analysed before consent: frames pushed now cause no frame events
    before = len(seen)
    flow.push_frame(live_frames[0], 0.1)
    assert not [e for e in seen[before:] if isinstance(e, FrameAccepted | CueChanged)]
    flow.consent(True, 0.2)
    assert flow.stage is Stage.POSITIONING
    _push(flow, live_frames, 0.3)
    assert flow.finished and flow.result is not None
    assert flow.result.verdict.status is S.APPROVED
    assert flow.result.verdict.capture_source.kind is CaptureKind.CAMERA
    stages = [e.stage for e in seen if isinstance(e, StageChanged)]
    assert stages == [Stage.CONSENT, Stage.POSITIONING, Stage.PROCESSING, Stage.DONE]
    progress = [e for e in seen if isinstance(e, Progress)]
    assert progress[0].done == 0 and progress[-1].fraction == 1.0
    assert isinstance(seen[-1], ResultReady)
    # the verdict is in the outbox before the result is announced
    assert kiosk.storage.verdicts().outbox_sequences() == [flow.result.verdict.sequence]


def test_cues_come_one_at_a_time_with_their_i18n_key(kiosk: Kiosk,
                                                     live_frames: list[np.ndarray]) -> None:
    flow, seen = _started(kiosk)
    flow.consent(True, 0.0)
    blank = np.zeros_like(live_frames[0])
    for i in range(3):  # the same cue three times is announced once
        flow.push_frame(blank, 0.1 * (i + 1))
    cues = [e for e in seen if isinstance(e, CueChanged)]
    assert cues == [CueChanged("NO_FACE", "cues.NO_FACE")]
    _push(flow, live_frames, 1.0)
    cues = [e for e in seen if isinstance(e, CueChanged)]
    assert cues[1] == CueChanged(None, None)  # a face in position clears it


def test_walk_away_is_abandoned(kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    flow, seen = _started(kiosk)
    flow.consent(True, 0.0)
    blank = np.zeros_like(live_frames[0])
    t = 0.0
    while not flow.finished and t < 60:
        t += 0.5
        flow.push_frame(blank, t)
    assert flow.result is not None and flow.result.verdict.status is S.ABANDONED
    assert t >= load_workflow(DEFAULT_WORKFLOW).session.abandon_after_seconds
    assert WarningCode.NO_FACE_DETECTED in flow.result.verdict.warnings


def test_walk_away_action_and_ticks(kiosk: Kiosk) -> None:
    flow, _ = _started(kiosk)
    flow.consent(True, 0.0)
    flow.tick(1.0)
    assert not flow.finished
    flow.walk_away(2.0)
    assert flow.result is not None and flow.result.verdict.status is S.ABANDONED
    assert "walked away" in (flow.result.verdict.reason or "")


def test_consent_refused_analyses_nothing(kiosk: Kiosk) -> None:
    flow, seen = _started(kiosk)
    flow.consent(False, 1.0)
    assert flow.result is not None and flow.result.verdict.status is S.ABANDONED
    assert flow.result.frames_read == 0
    assert WarningCode.CHECK_NOT_COMPLETED in flow.result.verdict.warnings
    assert not [e for e in seen if isinstance(e, FrameAccepted)]


def test_retake_starts_the_capture_again(kiosk: Kiosk, live_frames: list[np.ndarray]) -> None:
    flow, seen = _started(kiosk)
    flow.consent(True, 0.0)
    _push(flow, live_frames[:2], 0.1)
    assert [e for e in seen if isinstance(e, FrameAccepted)]
    flow.retake(0.5)
    assert [e for e in seen if isinstance(e, RetakeRequested)]
    assert StatusChanged(S.IN_PROGRESS, S.RESUBMITTED, 0.5) in seen
    _push(flow, live_frames, 1.0)
    assert flow.result is not None and flow.result.verdict.status is S.APPROVED


def test_flashing_plans_the_challenge_and_skips_anti_spoofing(
        kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch, live_frames: list[np.ndarray]) -> None:
    calls: list[int] = []
    real = kiosk.pipeline.antispoofer.infer
    monkeypatch.setattr(kiosk.pipeline.antispoofer, "infer",
                        lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    wf = load_workflow(FLASHING_WORKFLOW)
    flow = kiosk.new_session(CAMERA, "bob", workflow=wf)
    seen: list[FlowEvent] = []
    flow.subscribe(seen.append)
    flow.start(0.0)
    flow.consent(True, 0.1)
    plans = [e for e in seen if isinstance(e, ChallengePlanned)]
    assert len(plans) == 1 and plans[0].plan.nonce == flow.engine.nonce
    assert flow.stage is Stage.CHALLENGE
    # frames arriving while the screen draws are not analysed on their own
    flow.push_frame(live_frames[0], 0.2)
    assert not [e for e in seen if isinstance(e, FrameAccepted)]
    # a recording that does not answer this plan (a replay) is declined, with its reason
    from app.capture.plan import ColourCue
    from app.capture.recording import Recording

    rec = Recording(method="FLASHING", nonce=bytes(16), fps=25.0,
                    times=tuple(i / 25 for i in range(len(live_frames))),
                    frames=tuple(live_frames),
                    colours=(ColourCue(0.5, 1.0, (1.0, 0.0, 0.0)),), actions=())
    flow.push_recording(rec, 0.3)
    assert flow.result is not None and flow.result.verdict.status is S.DECLINED
    assert "nonce differs" in (flow.result.verdict.reason or "")
    assert calls == []  # FLASHING never paid for the anti-spoofing network


def test_an_internal_error_is_a_failure_not_a_decline(
        kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch, live_frames: list[np.ndarray]) -> None:
    flow, seen = _started(kiosk)

    def broken(*_a: object, **_k: object) -> None:
        raise TypeError("a programming error in the analyzer")

    monkeypatch.setattr(flow.parts.liveness, "analyze", broken)
    flow.consent(True, 0.0)
    with pytest.raises(TypeError):
        _push(flow, live_frames, 0.1)
    assert flow.stage is Stage.FAILED and flow.result is None
    assert isinstance(seen[-1], SessionFailed)
    assert kiosk.storage.verdicts().last_sequence() == 0  # no verdict was signed


def test_the_booth_key_never_signs_a_file_or_simulation(kiosk: Kiosk) -> None:
    for kind in (CaptureKind.VIDEO_FILE, CaptureKind.SIMULATION, CaptureKind.IMAGE,
                 CaptureKind.RECORDING):
        with pytest.raises(BadInputError, match="booth's key"):
            kiosk.new_session(CaptureSource(kind=kind, detail="x"), "eve")
