"""Whole FLASHING / ACTIVE_3D sessions: the session flow plans the challenge from the session's
nonce, the simulator (a fake screen and camera) answers it, and the real pipeline, challenge
checks, active analyzer, encrypted database and signer produce the verdict (scratch key: the
simulator is not the booth's camera)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from app.capture.challenge import StoredRecordingCamera, digest_of
from app.capture.evidence import EvidenceStore
from app.capture.frames import Frame, FrameSource
from app.capture.images import load_image
from app.capture.plan import ChallengePlan
from app.capture.recording import Recording, write_recording
from app.errors import BadInputError
from app.flow.headless import run_session
from app.flow.services import SessionParts
from app.kiosk.config import KioskConfig
from app.kiosk.root import open_kiosk
from app.kiosk.storage import evidence_dir
from app.lab.simulation.flash.challenge_camera import SimulatedChallengeCamera
from app.workflows import Workflow, parse_workflow
from assets import asset_path
from sync.device_key import DeviceKey
from sync.verdict import verify_verdict_bytes
from sync.vocabulary import CaptureKind, SessionStatus, WarningCode

S, W = SessionStatus, WarningCode
ASSETS = asset_path("workflows")


def _workflow(name: str, **liveness: object) -> Workflow:
    doc = json.loads((ASSETS / name).read_text())
    doc["features"][0]["config"].update(liveness)
    return parse_workflow(doc)


class _Recorder:
    """Keeps what the wrapped camera returned (to compare with the verdict)."""

    def __init__(self, inner: SimulatedChallengeCamera) -> None:
        self.inner = inner
        self.description = inner.description
        self.kind = inner.kind
        self.last: Recording | None = None

    def capture(self, plan: ChallengePlan) -> Recording:
        self.last = self.inner.capture(plan)
        return self.last


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("active_home")


@pytest.fixture(scope="module")
def parts(home: Path) -> Iterator[SessionParts]:
    # the simulator is not the booth's camera: its sessions sign with a scratch key
    with open_kiosk(KioskConfig.model_validate({}), home, workflow=_workflow("flashing.json"),
                    db_key=bytes(range(32)), scratch_key=DeviceKey.generate()) as kiosk:
        yield kiosk.parts


@pytest.fixture(scope="module")
def face3d() -> Path:
    from app.paths import data_dir
    folder = data_dir() / "face3d"
    if not (folder / "james.obj").is_file():
        pytest.fail(f"3D face scan missing in {folder}: run `poh data fetch`")
    return folder


def test_live_flash_session_is_approved_and_bound_to_its_recording(
        parts: SessionParts, face3d: Path, home: Path) -> None:
    wf = _workflow("flashing.json", retain_evidence=True)
    cam = _Recorder(SimulatedChallengeCamera(face3d, "live", split="tuning", seed=3))
    result = run_session(parts, wf, cam, "james", nonce=bytes(range(16)))
    v = result.verdict
    assert v.status is S.APPROVED, v.reason
    assert v.liveness.method.value == "FLASHING"
    assert verify_verdict_bytes(result.verdict_bytes, parts.key.public) == v
    assert cam.last is not None and cam.last.nonce.hex() == v.challenge.nonce
    assert v.challenge.response_digest == digest_of(cam.last)
    assert result.enrolled
    # evidence kept, sealed, and it re-derives the verdict's digest
    store = EvidenceStore(evidence_dir(home), bytes(range(32)))
    assert [e.session_id for e in store.entries()] == [v.session_id]
    back = store.export(v.session_id, home / "exported")
    assert digest_of(back) == v.challenge.response_digest


def test_print_attack_is_declined(parts: SessionParts, face3d: Path) -> None:
    wf = _workflow("flashing.json")
    result = run_session(parts, wf,
                         SimulatedChallengeCamera(face3d, "print", split="tuning", seed=4),
                         "mallory", nonce=bytes(range(1, 17)))
    assert result.verdict.status is S.DECLINED, result.verdict.reason
    assert W.LIVENESS_FACE_ATTACK in result.verdict.warnings
    assert not result.enrolled and result.credential is None


def test_stored_recording_is_refused_as_a_replay(parts: SessionParts, face3d: Path,
                                                 tmp_path: Path) -> None:
    wf = _workflow("flashing.json")
    cam = _Recorder(SimulatedChallengeCamera(face3d, "live", split="tuning", seed=5))
    from app.capture.plan import make_plan
    write_recording(tmp_path / "old", cam.capture(make_plan("FLASHING", bytes(16))))
    result = run_session(parts, wf, StoredRecordingCamera(tmp_path / "old"), "replayer")
    v = result.verdict
    assert v.status is S.DECLINED
    assert v.reason is not None and "replay" in v.reason
    assert not result.enrolled


def test_another_face_before_the_flash_is_refused(parts: SessionParts, face3d: Path) -> None:
    """A live face answers the flash, another person's photo fills the capture frames."""
    from app.paths import data_dir

    portrait = load_image(data_dir() / "colour" / "obama.jpg")
    box = parts.pipeline.analyze(portrait).faces[0].detection.box
    cx, cy, half = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, 0.85 * (box.x2 - box.x1)
    other = portrait[max(0, int(cy - half)):int(cy + half), max(0, int(cx - half)):int(cx + half)]
    inner = SimulatedChallengeCamera(face3d, "live", split="tuning", seed=6)

    class Spliced(_Recorder):
        def capture(self, plan: ChallengePlan) -> Recording:
            rec = inner.capture(plan)
            h, w = rec.frames[0].shape[:2]
            photo = cv2.resize(other, (w, h), interpolation=cv2.INTER_AREA)
            start = min(c.t_start for c in rec.colours)  # the frames before the challenge
            frames = tuple(photo if t < start else f for t, f in zip(rec.times, rec.frames,
                                                                   strict=True))
            return Recording(rec.method, rec.nonce, rec.fps, rec.times, frames, rec.colours,
                             rec.actions)

    result = run_session(parts, _workflow("flashing.json"), Spliced(inner), "swapper",
                         nonce=bytes(range(2, 18)))
    v = result.verdict
    assert v.status is S.DECLINED
    assert v.reason is not None and "not the captured face" in v.reason


def test_live_active_3d_session_is_approved(parts: SessionParts, face3d: Path,
                                             tmp_path: Path) -> None:
    """Two actions (here TURN_RIGHT then BLINK, from this nonce) and the flash, all rendered;
    on an empty gallery (the module's gallery already holds this face)."""
    from app.capture.plan import make_plan

    nonce = (7).to_bytes(16, "big")
    assert [a.action for a in make_plan("ACTIVE_3D", nonce).actions] == ["TURN_RIGHT", "BLINK"]
    wf = _workflow("active_3d.json")
    with open_kiosk(KioskConfig.model_validate({}), tmp_path, workflow=wf,
                    db_key=bytes(range(32)), scratch_key=DeviceKey.generate(),
                    pipeline=parts.pipeline) as kiosk:  # the same models, a new gallery
        result = run_session(kiosk.parts, wf,
                             SimulatedChallengeCamera(face3d, "live", split="tuning", seed=8),
                             "james-3d", nonce=nonce)
    assert result.verdict.status is S.APPROVED, result.verdict.reason
    assert result.verdict.liveness.method.value == "ACTIVE_3D"


class _NoFrames(FrameSource):
    def __iter__(self) -> Iterator[Frame]:
        yield from ()


def test_an_active_workflow_needs_a_challenge_camera(parts: SessionParts) -> None:
    with pytest.raises(BadInputError, match="challenge camera"):
        run_session(parts, _workflow("flashing.json"),
                    _NoFrames("video", live=False, fps=10.0, kind=CaptureKind.VIDEO_FILE), "x")
