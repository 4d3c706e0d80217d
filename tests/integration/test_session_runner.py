"""Whole sessions with the real pipeline, passive liveness and an encrypted database.

Clips are made from real portraits (a live person, another photo of the same person, a simulated
print of the first); the verdicts must be Approved (credential issued, person enrolled), In Review
as a duplicate, and Declined as an attack, each signed and in the outbox before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from app.capture.frames import open_source
from app.flow.controller import SessionFlow
from app.flow.headless import run_session
from app.flow.result import SessionResult
from app.flow.services import SessionParts
from app.kiosk.config import KioskConfig
from app.kiosk.root import open_kiosk
from app.lab.demo_clips import make_demo_clips
from app.workflows import DEFAULT_WORKFLOW, Workflow, load_workflow, parse_workflow
from sync.credential import issue_credential, load_issuer_keys, verify_credential
from sync.device_key import DeviceKey
from sync.verdict import CaptureSource, verify_verdict_bytes
from sync.verdict_store import VerdictStore
from sync.vocabulary import CaptureKind, LivenessMethod, SessionStatus, WarningCode

S, W = SessionStatus, WarningCode


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from app.paths import data_dir
    return make_demo_clips(data_dir() / "colour", tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionParts]:
    # video files are not the booth's camera: sessions on them sign with a scratch key
    with open_kiosk(KioskConfig.model_validate({}), tmp_path_factory.mktemp("home"),
                    workflow=load_workflow(DEFAULT_WORKFLOW), db_key=bytes(range(32)),
                    scratch_key=DeviceKey.generate()) as kiosk:
        yield kiosk.parts


def _run(parts: SessionParts, wf: Workflow, clip: Path, vendor: str) -> SessionResult:
    return run_session(parts, wf, open_source(str(clip)), vendor)


def test_live_then_duplicate_then_print(parts: SessionParts, clips: dict[str, Path]) -> None:
    wf = load_workflow(DEFAULT_WORKFLOW)
    store = parts.sessions
    assert isinstance(store, VerdictStore)
    start = store.last_sequence()

    live = _run(parts, wf, clips["live"], "alice")
    v = live.verdict
    assert v.status is S.APPROVED, v.reason
    assert live.enrolled and live.credential is not None
    assert verify_verdict_bytes(live.verdict_bytes, parts.key.public) == v
    assert v.liveness.score is not None
    assert v.liveness.score > wf.face_liveness_score_decline_threshold
    assert v.challenge.response_digest is not None
    assert v.age is not None and v.age.age_estimation is not None
    cred = verify_credential(live.credential, load_issuer_keys(parts.key.public_jwk()))
    assert cred.verdict_sequence == v.sequence and cred.issuer == parts.key.device_id

    again = _run(parts, wf, clips["again"], "alice-again")
    assert again.verdict.status is S.IN_REVIEW, again.verdict.reason
    assert W.POSSIBLE_DUPLICATED_FACE in again.verdict.warnings
    fs = again.verdict.face
    assert fs is not None and fs.matches[0].vendor_data == "alice"
    assert not again.enrolled and again.credential is None

    attack = _run(parts, wf, clips["print"], "mallory")
    assert attack.verdict.status is S.DECLINED
    assert W.LIVENESS_FACE_ATTACK in attack.verdict.warnings
    assert not attack.enrolled and attack.credential is None

    seqs = [live.verdict.sequence, again.verdict.sequence, attack.verdict.sequence]
    assert seqs == [start + 1, start + 2, start + 3]
    assert store.outbox_sequences()[-3:] == seqs
    payloads = [i.payload for i in store.outbox()][-3:]
    assert payloads == [r.verdict_bytes for r in (live, again, attack)]


def test_video_ending_mid_session_is_abandoned(parts: SessionParts, clips: dict[str, Path],
                                               tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(clips["live"]))
    short = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(short), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter.fourcc(*"MJPG"),
                             10.0, (640, 480), [cv2.VIDEOWRITER_PROP_QUALITY, 100])
    for _ in range(2):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    result = _run(parts, load_workflow(DEFAULT_WORKFLOW), short, "bob")
    v = result.verdict
    assert v.status is S.ABANDONED
    assert v.reason is not None and "video ended after 2 frames" in v.reason
    assert v.liveness.status.value == "Not Finished"
    assert not result.enrolled


def test_credential_instead_of_a_new_check(parts: SessionParts, clips: dict[str, Path]) -> None:
    base = load_workflow(DEFAULT_WORKFLOW).model_dump(mode="json")
    base["credential"] = {"issue": True, "accept": True}
    wf = parse_workflow(base)
    token = issue_credential(parts.key, vendor_data="carol", method=LivenessMethod.PASSIVE,
                             unique=True, workflow=wf.ref, validity_seconds=600, age_over=18)
    cred = verify_credential(token, load_issuer_keys(parts.key.public_jwk()))
    # the clip would be declined as a print; the credential stands in for the check instead
    reuse = run_session(parts, wf, open_source(str(clips["print"])), "carol", cred)
    assert reuse.verdict.status is S.APPROVED
    assert reuse.verdict.credential is not None and reuse.verdict.credential.jti == cred.jti
    assert reuse.frames_read == 0 and not reuse.enrolled and reuse.credential is None
    assert verify_verdict_bytes(reuse.verdict_bytes, parts.key.public) == reuse.verdict


def test_runner_refuses_a_method_it_cannot_run(parts: SessionParts) -> None:
    doc = load_workflow(DEFAULT_WORKFLOW).model_dump(mode="json")
    doc["features"][0]["config"]["method"] = "FLASHING"
    source = CaptureSource(kind=CaptureKind.SIMULATION, detail="simulated challenge camera")
    with pytest.raises(ValueError, match="FLASHING"):
        SessionFlow(parts, parse_workflow(doc), source, "x")
