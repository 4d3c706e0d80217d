"""Review frames for the hub, the pure parts: which frames, their size, the send mark beside a
sealed recording, the sealed wire messages and acknowledgements, the hub's sealing at rest,
and the workflow rule (sync_evidence needs retain_evidence)."""

from __future__ import annotations

import base64
import secrets
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from app.capture.evidence import EvidenceStore, pack
from app.capture.evidence_frames import downscale, review_frames, spread
from app.capture.plan import make_plan
from app.capture.recording import Recording, plan_cues
from app.workflows.model import LivenessConfig
from sync.fleet.envelope import EnvelopeError, seal
from sync.fleet.evidence_wire import (
    MAX_FRAMES,
    EvidenceAck,
    frames_digest,
    open_ack,
    open_frames,
    seal_ack,
    seal_frames,
)
from sync.hub.evidence import EvidenceVault
from sync.vocabulary import LivenessMethod

TOPIC = "poh/v1/f1/booth-a/evidence"
ACK_TOPIC = "poh/v1/f1/booth-a/cmd/evidence"


def _rec(n: int = 40, h: int = 480, w: int = 640) -> Recording:
    plan = make_plan("FLASHING", bytes(range(16)))
    cols, acts = plan_cues(plan, 1.0)
    times = tuple(1.0 + i / 30 for i in range(n))
    frames = tuple(np.full((h, w, 3), i * 5 % 256, dtype=np.uint8) for i in range(n))
    return Recording("FLASHING", plan.nonce, 30.0, times, frames, cols, acts)


def _jpeg(seed: int = 0) -> bytes:
    img = np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    return bytes(cv2.imencode(".jpg", img)[1].tobytes())


@pytest.mark.parametrize(("total", "count", "want"), [
    (0, 12, []), (5, 12, [0, 1, 2, 3, 4]), (12, 12, list(range(12))), (100, 1, [50]),
    (100, 3, [0, 50, 99])])
def test_spread_picks_evenly_and_keeps_the_ends(total: int, count: int, want: list[int]
                                                ) -> None:
    assert spread(total, count) == want


def test_spread_of_a_long_recording_gives_the_count() -> None:
    picked = spread(900, MAX_FRAMES)
    assert len(picked) == MAX_FRAMES and picked[0] == 0 and picked[-1] == 899


def test_downscale_to_the_longest_side_and_never_up() -> None:
    assert downscale(np.zeros((480, 640, 3), np.uint8)).shape == (240, 320, 3)
    assert downscale(np.zeros((1280, 720, 3), np.uint8)).shape == (320, 180, 3)
    assert downscale(np.zeros((100, 80, 3), np.uint8)).shape == (100, 80, 3)


def test_review_frames_are_twelve_small_jpegs_spread_over_the_recording() -> None:
    frames = review_frames(pack(_rec()))
    assert len(frames) == MAX_FRAMES
    images = [cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR) for f in frames]
    assert all(f.startswith(b"\xff\xd8\xff") for f in frames)
    assert all(i.shape == (240, 320, 3) for i in images)
    # the first and the last frame of the recording (grey levels 0 and 39 * 5)
    assert abs(int(images[0].mean()) - 0) <= 2 and abs(int(images[-1].mean()) - 195) <= 2


def test_send_mark_beside_the_sealed_recording(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence", secrets.token_bytes(32))
    keep, send = str(uuid.uuid4()), str(uuid.uuid4())
    store.keep(keep, _rec(4, 16, 16))
    store.keep(send, _rec(4, 16, 16), send=True)
    assert store.to_send() == [send]
    assert (tmp_path / "evidence" / f"{send}.send").read_bytes() == b""  # no image, no key
    assert [e.session_id for e in store.entries()] == sorted([keep, send])  # marks not listed
    assert review_frames(store.packed(send))  # opened in memory
    assert store.sent(send) and store.to_send() == [] and not store.sent(send)
    store.keep(send, _rec(4, 16, 16), send=True)
    assert store.delete(send) and store.to_send() == []  # erasing the recording erases the mark


def test_frames_sealed_on_the_wire_and_bound_to_the_topic() -> None:
    key, sid = secrets.token_bytes(32), str(uuid.uuid4())
    frames = [_jpeg(1), _jpeg(2)]
    wire = seal_frames(key, TOPIC, sid, frames)
    assert b"\xff\xd8\xff" not in wire and b"/9j/" not in wire and sid.encode() not in wire
    got = open_frames(key, TOPIC, wire)
    assert got.session_id == sid and list(got.frames) == frames
    assert got.digest == frames_digest(frames)
    with pytest.raises(EnvelopeError):  # replayed on another booth's topic
        open_frames(key, "poh/v1/f1/booth-b/evidence", wire)
    with pytest.raises(EnvelopeError):
        open_frames(secrets.token_bytes(32), TOPIC, wire)
    with pytest.raises(ValueError):
        seal_frames(key, TOPIC, sid, [_jpeg()] * (MAX_FRAMES + 1))


@pytest.mark.parametrize("bad", [
    {"frames": []},
    {"frames": [base64.b64encode(b"\x89PNG\r\n\x1a\n...").decode()]},
    {"frames": ["not base64!"]},
    {"frames": [base64.b64encode(_jpeg()).decode()] * (MAX_FRAMES + 1)},
    {"session_id": "../../etc"},
    {"type": "sync"},
])
def test_malformed_frames_are_refused(bad: dict[str, object]) -> None:
    key = secrets.token_bytes(32)
    msg: dict[str, object] = {"type": "evidence", "session_id": str(uuid.uuid4()),
                              "frames": [base64.b64encode(_jpeg()).decode()]}
    msg.update(bad)
    with pytest.raises(EnvelopeError):
        open_frames(key, TOPIC, seal(key, TOPIC, msg))


def test_acknowledgement_must_be_the_hubs() -> None:
    key, hub, other = secrets.token_bytes(32), Ed25519PrivateKey.generate(), \
        Ed25519PrivateKey.generate()
    ack = EvidenceAck(str(uuid.uuid4()), "ab" * 32, "stored")
    assert open_ack(key, ACK_TOPIC, seal_ack(key, ACK_TOPIC, ack, hub), hub.public_key()) == ack
    with pytest.raises(EnvelopeError):  # signed by someone else (a booth holds the fleet key)
        open_ack(key, ACK_TOPIC, seal_ack(key, ACK_TOPIC, ack, other), hub.public_key())
    unsigned = seal(key, ACK_TOPIC, {"type": "evidence_ack", "session_id": ack.session_id,
                                     "digest": ack.digest, "result": "stored"})
    with pytest.raises(EnvelopeError):
        open_ack(key, ACK_TOPIC, unsigned, hub.public_key())
    with pytest.raises(EnvelopeError):  # another booth's acknowledgement topic
        open_ack(key, "poh/v1/f1/booth-b/cmd/evidence", seal_ack(key, ACK_TOPIC, ack, hub),
                 hub.public_key())


def test_hub_seals_frames_at_rest_bound_to_the_session() -> None:
    signer = Ed25519PrivateKey.generate()
    vault, sid = EvidenceVault(signer), str(uuid.uuid4())
    frame = _jpeg()
    sealed = vault.seal("f1", "booth-a", sid, 3, frame)
    assert b"\xff\xd8\xff" not in sealed and len(sealed) == len(frame) + 28
    assert EvidenceVault(signer).open("f1", "booth-a", sid, 3, sealed) == frame
    for args in (("f1", "booth-a", str(uuid.uuid4()), 3), ("f1", "booth-a", sid, 4),
                 ("f1", "booth-b", sid, 3)):
        with pytest.raises(InvalidTag):
            vault.open(*args, sealed)
    with pytest.raises(InvalidTag):  # another hub's key
        EvidenceVault(Ed25519PrivateKey.generate()).open("f1", "booth-a", sid, 3, sealed)


def test_workflow_sync_evidence_needs_retain_evidence() -> None:
    ok = LivenessConfig(method=LivenessMethod.FLASHING, retain_evidence=True, sync_evidence=True)
    assert ok.sync_evidence
    with pytest.raises(ValidationError, match="needs retain_evidence"):
        LivenessConfig(method=LivenessMethod.FLASHING, sync_evidence=True)
    assert not LivenessConfig().sync_evidence
