"""Challenge plans (determinism by nonce, chroma separation) and capture recording validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.capture.plan import (
    ACTIONS,
    MAX_CUE_S,
    MIN_CHROMA_STEP,
    MIN_CUE_S,
    NEUTRAL,
    chroma_distance,
    make_plan,
    new_nonce,
)
from app.capture.recording import (
    Recording,
    RecordingError,
    plan_cues,
    read_recording,
    write_recording,
)


def test_plan_is_a_function_of_the_nonce() -> None:
    nonce = bytes(range(16))
    assert make_plan("FLASHING", nonce) == make_plan("FLASHING", nonce)
    assert make_plan("ACTIVE_3D", nonce) == make_plan("ACTIVE_3D", nonce)
    other = make_plan("FLASHING", bytes(range(1, 17)))
    assert other.colours != make_plan("FLASHING", nonce).colours


@pytest.mark.parametrize("seed", range(40))
def test_flash_colours_are_well_separated(seed: int) -> None:
    plan = make_plan("FLASHING", seed.to_bytes(4, "big") * 4)
    lead, *colours = plan.colours
    assert lead.rgb == NEUTRAL and lead.t_start == 0.0
    assert 8 <= len(colours) <= 12
    prev = lead
    for c in colours:
        assert MIN_CUE_S - 1e-3 <= c.t_end - c.t_start <= MAX_CUE_S + 1e-3
        assert c.t_start == pytest.approx(prev.t_end, abs=1e-3)
        assert chroma_distance(c.rgb, prev.rgb) >= MIN_CHROMA_STEP
        prev = c


def test_active_plan_has_two_distinct_actions_after_the_flash() -> None:
    seen = set()
    for _ in range(30):
        plan = make_plan("ACTIVE_3D", new_nonce())
        a, b = plan.actions
        assert a.action != b.action and {a.action, b.action} <= set(ACTIONS)
        assert a.t_start >= plan.colours[-1].t_end and b.t_start >= a.t_end
        seen.add(a.action)
    assert len(seen) >= 3  # actions vary with the nonce
    with pytest.raises(ValueError):
        make_plan("PASSIVE", new_nonce())


def _tiny_recording(method: str = "FLASHING") -> Recording:
    plan = make_plan(method, bytes(16))
    cols, acts = plan_cues(plan, 1.0)
    frames = tuple(np.full((24, 24, 3), i * 20, np.uint8) for i in range(4))
    return Recording(method, plan.nonce, 30.0, (1.0, 1.1, 1.2, 1.3), frames, cols, acts)


def test_recording_round_trip(tmp_path: Path) -> None:
    rec = _tiny_recording("ACTIVE_3D")
    write_recording(tmp_path / "r", rec)
    back = read_recording(tmp_path / "r")
    assert back.method == "ACTIVE_3D" and back.nonce == rec.nonce and back.times == rec.times
    assert back.colours == rec.colours and back.actions == rec.actions
    assert all(np.array_equal(a, b) for a, b in zip(back.frames, rec.frames, strict=True))
    doc = json.loads((tmp_path / "r" / "capture.json").read_text())
    assert doc["version"] == 1 and doc["frames"][0] == {"file": "000001.png", "t": 1.0}


def _edit(folder: Path, change: dict[str, object]) -> None:
    path = folder / "capture.json"
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("defect", ["missing_frame", "cue_order", "method", "json",
                                    "frame_order", "version", "rgb"])
def test_malformed_recordings_are_rejected(tmp_path: Path, defect: str) -> None:
    folder = write_recording(tmp_path / "r", _tiny_recording())
    doc = json.loads((folder / "capture.json").read_text())
    if defect == "missing_frame":
        (folder / "000003.png").unlink()
    elif defect == "cue_order":
        cues = doc["cues"]
        cues[1], cues[2] = cues[2], cues[1]
        _edit(folder, {"cues": cues})
    elif defect == "method":
        _edit(folder, {"method": "SELFIE"})
    elif defect == "json":
        (folder / "capture.json").write_text("{not json")
    elif defect == "frame_order":
        frames = doc["frames"]
        frames[2]["t"] = frames[0]["t"]
        _edit(folder, {"frames": frames})
    elif defect == "version":
        _edit(folder, {"version": 2})
    else:
        cues = doc["cues"]
        cues[0]["rgb"] = [0.5, 2.0, 0.5]
        _edit(folder, {"cues": cues})
    with pytest.raises(RecordingError):
        read_recording(folder)
