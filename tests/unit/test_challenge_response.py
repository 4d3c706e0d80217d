"""The challenge exchange: a recording must answer the plan of this session's nonce, and its
digest changes with any frame, time or cue."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.capture.challenge import RecordingSource, digest_of, response_mismatch
from app.capture.plan import ColourCue, make_plan
from app.capture.recording import Recording, plan_cues

NONCE = bytes(range(16))


def _answer(method: str = "FLASHING", nonce: bytes = NONCE, t0: float = 10.0) -> Recording:
    plan = make_plan(method, nonce)
    cols, acts = plan_cues(plan, t0)
    times = tuple(t0 + i / 30 for i in range(int(plan.duration * 30)))
    rng = np.random.default_rng(0)
    frames = tuple(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in times)
    return Recording(method, nonce, 30.0, times, frames, cols, acts)


@pytest.mark.parametrize("method", ["FLASHING", "ACTIVE_3D"])
def test_an_answer_to_the_plan_is_accepted(method: str) -> None:
    assert response_mismatch(make_plan(method, NONCE), _answer(method)) is None


def test_a_recording_for_another_nonce_is_a_replay() -> None:
    why = response_mismatch(make_plan("FLASHING", NONCE), _answer(nonce=bytes(16)))
    assert why is not None and "replay" in why


def test_other_method_other_colour_other_timing_other_actions_are_refused() -> None:
    plan = make_plan("FLASHING", NONCE)
    assert "ACTIVE_3D" in (response_mismatch(plan, _answer("ACTIVE_3D")) or "")
    rec = _answer()
    first = rec.colours[1]
    recoloured = replace(rec, colours=(rec.colours[0], ColourCue(
        first.t_start, first.t_end, (1.0 - first.rgb[0], first.rgb[1], first.rgb[2])),
        *rec.colours[2:]))
    assert "colour 1" in (response_mismatch(plan, recoloured) or "")
    stretched = replace(rec, colours=(rec.colours[0], ColourCue(
        first.t_start, first.t_end + 0.2, first.rgb), *rec.colours[2:]))
    assert "different time" in (response_mismatch(plan, stretched) or "")
    assert "colours" in (response_mismatch(plan, replace(rec, colours=rec.colours[:-1])) or "")
    plan3 = make_plan("ACTIVE_3D", NONCE)
    rec3 = _answer("ACTIVE_3D")
    swapped = replace(rec3, actions=tuple(reversed(rec3.actions)))
    assert "actions" in (response_mismatch(plan3, swapped) or "")


def test_digest_binds_every_frame_time_and_cue() -> None:
    rec = _answer()
    base = digest_of(rec)
    assert base == digest_of(_answer())
    frames = list(rec.frames)
    frames[5] = frames[5].copy()
    frames[5][0, 0, 0] ^= 1
    assert digest_of(replace(rec, frames=tuple(frames))) != base
    times = list(rec.times)
    times[3] += 0.001
    assert digest_of(replace(rec, times=tuple(times))) != base
    c = rec.colours[2]
    moved = (*rec.colours[:2], ColourCue(c.t_start + 0.01, c.t_end + 0.01, c.rgb),
             *rec.colours[3:])
    assert digest_of(replace(rec, colours=moved)) != base
    assert digest_of(replace(rec, nonce=bytes(16))) != base


def test_recording_source_runs_on_the_recording_clock() -> None:
    rec = _answer()
    src = RecordingSource(rec, "test")
    frames = list(src)
    assert len(frames) == len(rec.frames) == src.frames_read
    assert frames[0].t == 0.0 and abs(frames[-1].t - (rec.times[-1] - rec.times[0])) < 1e-9
    assert "ended" in src.end_reason
