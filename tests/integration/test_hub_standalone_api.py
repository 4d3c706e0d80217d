"""Didit's standalone POST /v3/passive-liveness/ at the hub, run by the booth's own models:
a real portrait is Approved, the simulated print and screen replay are Declined with
LIVENESS_FACE_ATTACK (an error), the Didit fields are there and nothing else biometric;
bad uploads get Didit's 400s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from support.hub_api import free_port, post_image, wait_http

from app.lab.demo_clips import portrait_frames
from inference.pipeline import FacePipeline
from sync.hub.api.context import HubContext
from sync.hub.api.keys import Scope, create_key
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.api.standalone_engine import StandaloneEngine
from sync.hub.db import open_engine


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, face_pipeline: FacePipeline
        ) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("hub")
    engine = open_engine(f"sqlite:///{folder / 'hub.db'}")
    key = create_key(engine, "kiosk-vendor", frozenset({Scope.STANDALONE}))
    port = free_port()
    ctx = HubContext(engine, analysis_factory=lambda: StandaloneEngine(face_pipeline))
    server = BackgroundServer(ctx, HttpAddress("127.0.0.1", port))
    server.start()
    wait_http(f"http://127.0.0.1:{port}/health")
    yield f"http://127.0.0.1:{port}", key
    server.stop()
    engine.dispose()


def _post(hub: tuple[str, str], image: bytes | None, name: str = "selfie.jpg",
          **fields: str) -> tuple[int, Any]:
    return post_image(hub[0] + "/v3/passive-liveness/", hub[1], image, name, **fields)


def test_live_portrait_approved_in_didit_shape(hub: tuple[str, str], data_dir: Path) -> None:
    code, out = _post(hub, (data_dir / "colour" / "obama2.jpg").read_bytes(),
                      vendor_data="user-123", metadata='{"flow": "check-in"}')
    assert code == 200, out
    assert set(out) == {"request_id", "liveness", "vendor_data", "metadata", "created_at"}
    live = out["liveness"]
    assert live["status"] == "Approved" and live["method"] == "PASSIVE"
    assert 50 <= live["score"] <= 100 and live["warnings"] == []
    [entity] = live["user_image"]["entities"]
    assert set(entity) == {"age", "bbox", "confidence"} and len(entity["bbox"]) == 4
    assert set(live) == {"status", "method", "score", "user_image", "warnings",
                         "face_quality", "face_luminance"}
    assert (out["vendor_data"], out["metadata"]) == ("user-123", {"flow": "check-in"})


@pytest.fixture(scope="module")
def attacks(data_dir: Path) -> dict[str, bytes]:
    """The simulated print and screen replay of a real portrait, as the demo makes them (made
    here: a fresh machine has not run the demo)."""
    frames = portrait_frames(data_dir / "colour", "obama.jpg")
    out = {}
    for species in ("print", "replay"):
        ok, png = cv2.imencode(".png", frames[species])
        assert ok
        out[species] = png.tobytes()
    return out


@pytest.mark.parametrize("attack", ["print", "replay"])
def test_print_and_replay_declined(hub: tuple[str, str], attacks: dict[str, bytes],
                                   attack: str) -> None:
    code, out = _post(hub, attacks[attack], f"obama_{attack}.png")
    assert code == 200, out
    live = out["liveness"]
    assert live["status"] == "Declined" and live["score"] < 50
    [w] = live["warnings"]
    assert (w["risk"], w["log_type"], w["feature"]) == ("LIVENESS_FACE_ATTACK", "error",
                                                        "LIVENESS")


def test_no_face_and_bad_uploads(hub: tuple[str, str], data_dir: Path) -> None:
    import cv2
    import numpy as np
    blank = cv2.imencode(".png", np.full((240, 320, 3), 128, np.uint8))[1].tobytes()
    code, out = _post(hub, blank, "blank.png")
    assert code == 200 and out["liveness"]["status"] == "Declined"
    assert out["liveness"]["score"] is None
    assert out["liveness"]["warnings"][0]["risk"] == "NO_FACE_DETECTED"
    code, out = _post(hub, b"GIF89a" + b"\x00" * 100, "x.gif")
    assert (code, out["code"]) == (400, "invalid_image")
    code, out = _post(hub, b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "big.jpg")
    assert (code, out["code"]) == (400, "file_too_large")
    code, out = _post(hub, None)
    assert code == 400 and "user_image" in out["errors"]
    code, out = _post(hub, blank, face_liveness_score_decline_threshold="101")
    assert code == 400 and "face_liveness_score_decline_threshold" in out["errors"]
    code, out = _post(hub, blank, metadata="[1]")
    assert (code, out["detail"]) == (400, "metadata: give a JSON object")
