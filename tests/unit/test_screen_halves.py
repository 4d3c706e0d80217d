"""Two-sided flash plans on the kiosk side: the plan of a nonce with the screen's halves lit
apart, its recording, its check and digest, and what the screen timeline and the presentation
log carry of it; whole-screen plans and their digests exactly as before."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.capture.challenge import digest_of, response_mismatch
from app.capture.plan import MIN_CHROMA_STEP, ChallengePlan, chroma_distance, make_plan
from app.capture.presentation import PresentationLog, assemble_recording, cues_as_presented
from app.capture.recording import Recording, plan_cues, read_recording, write_recording
from app.capture.screen_timeline import ScreenTimeline

NONCE = bytes(range(16))
METHODS = ("FLASHING", "ACTIVE_3D")
# digest_of(_answer(method)) computed with the code of 9871678's parent (before cues could have
# halves): a whole-screen recording keeps its digest, so verdicts signed before still verify
GOLDEN_DIGEST = {
    "FLASHING": "1fe1cfc71c9b8cf03d391fb2dcf135919bec275eb378aee2c3f9391732ab36e2",
    "ACTIVE_3D": "aa45d3b7afa50bd8bfa8100b8fa6b1d4e140f1d44d7d89e8421c78934d30d46e",
}


def _answer(method: str = "FLASHING", nonce: bytes = NONCE, *, halves: bool = False,
            t0: float = 10.0) -> Recording:
    """A recording that shows the plan exactly (frames: small deterministic patterns)."""
    plan = make_plan(method, nonce, halves=halves)
    cols, acts = plan_cues(plan, t0)
    n = int(plan.duration * 30)
    times = tuple(round(t0 + i / 30, 6) for i in range(n))
    base = np.arange(48, dtype=np.uint16).reshape(4, 4, 3) * 5
    frames = tuple(((base + i) % 256).astype(np.uint8) for i in range(n))
    return Recording(method, nonce, 30.0, times, frames, cols, acts)


@pytest.mark.parametrize("method", METHODS)
def test_a_halves_plan_is_fixed_by_its_nonce(method: str) -> None:
    plan = make_plan(method, NONCE, halves=True)
    assert plan == make_plan(method, NONCE, halves=True)
    assert plan.halves and plan.colours[0].rgb_right is None  # the neutral lead-in is whole
    for cue in plan.colours[1:]:
        assert cue.rgb_right is not None and cue.right == cue.rgb_right and cue.left == cue.rgb
        assert chroma_distance(cue.left, cue.right) >= MIN_CHROMA_STEP
    assert make_plan(method, bytes(16), halves=True).colours != plan.colours
    # the actions come from their own stream: the same ones with or without halves (their
    # times follow the colours)
    assert [a.action for a in plan.actions] == [a.action for a in make_plan(method, NONCE).actions]


@pytest.mark.parametrize("method", METHODS)
def test_whole_screen_plans_and_digests_are_unchanged(method: str) -> None:
    for k in range(50):
        nonce = k.to_bytes(16, "big")
        whole = make_plan(method, nonce)
        assert whole == make_plan(method, nonce, halves=False)
        assert not whole.halves and all(c.right == c.rgb for c in whole.colours)
    assert digest_of(_answer(method)) == GOLDEN_DIGEST[method]


@pytest.mark.parametrize("method", METHODS)
def test_a_halves_recording_round_trips_with_rgb_right(method: str, tmp_path: Path) -> None:
    rec = _answer(method, halves=True)
    folder = write_recording(tmp_path / "rec", rec)
    doc = (folder / "capture.json").read_text()
    assert doc.count('"rgb_right"') == len(rec.colours) - 1  # the lead-in has none
    back = read_recording(folder)
    assert back.colours == rec.colours and back.actions == rec.actions
    assert digest_of(back) == digest_of(rec)
    assert response_mismatch(make_plan(method, NONCE, halves=True), back) is None
    whole = read_recording(write_recording(tmp_path / "whole", _answer(method)))
    assert all(c.rgb_right is None for c in whole.colours)


@pytest.mark.parametrize("method", METHODS)
def test_halves_and_whole_screen_answers_do_not_stand_in_for_each_other(method: str) -> None:
    halves, whole = _answer(method, halves=True), _answer(method)
    halves_plan, whole_plan = make_plan(method, NONCE, halves=True), make_plan(method, NONCE)
    assert response_mismatch(halves_plan, halves) is None
    assert response_mismatch(whole_plan, whole) is None
    assert "colour" in (response_mismatch(whole_plan, halves) or "")
    assert "colour" in (response_mismatch(halves_plan, whole) or "")
    # the halves plan's colours with the right halves dropped: still not the challenge
    flattened = replace(halves, colours=tuple(replace(c, rgb_right=None)
                                              for c in halves.colours))
    assert "colour 1" in (response_mismatch(halves_plan, flattened) or "")
    # one right half changed
    cue = halves.colours[2]
    assert cue.rgb_right is not None
    moved = (1.0 - cue.rgb_right[0], cue.rgb_right[1], cue.rgb_right[2])
    recoloured = replace(halves, colours=(*halves.colours[:2], replace(cue, rgb_right=moved),
                                          *halves.colours[3:]))
    assert "colour 2" in (response_mismatch(halves_plan, recoloured) or "")
    assert digest_of(recoloured) != digest_of(halves)
    assert digest_of(flattened) != digest_of(halves) != digest_of(whole)


def test_the_timeline_carries_the_right_half() -> None:
    tl = ScreenTimeline()
    tl.show(1.0, (1.0, 0.0, 0.0), None, (0.0, 0.0, 1.0))
    tl.show(2.0, (0.0, 1.0, 0.0))
    two = tl.at(1.5)
    assert (two.left, two.right, two.rgb_right) == ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0),
                                                     (0.0, 0.0, 1.0))
    one = tl.at(2.5)
    assert one.rgb_right is None and one.left == one.right == (0.0, 1.0, 0.0)
    assert tl.at(0.0).rgb_right is None  # the initial UI is whole
    assert [s.rgb_right for s in tl.since(0.0)] == [(0.0, 0.0, 1.0), None]
    with pytest.raises(ValueError, match="0..1"):
        tl.show(3.0, (0.5, 0.5, 0.5), None, (2.0, 0.0, 0.0))


def _presented(plan: ChallengePlan, t0: float) -> PresentationLog:
    log = PresentationLog()
    cues = [*plan.colours, *plan.actions]
    for i, cue in enumerate(cues):
        log.presented(i, t0 + cue.t_start + 0.004)
        if i + 1 < len(cues) and cues[i + 1].t_start > cue.t_end + 1e-6:
            log.cleared(i, t0 + cue.t_end + 0.004)
    log.finished(t0 + cues[-1].t_end + 0.004)
    return log


@pytest.mark.parametrize("method", METHODS)
def test_the_presented_cues_keep_their_right_halves(method: str) -> None:
    plan = make_plan(method, NONCE, halves=True)
    log = _presented(plan, 100.0)
    cols, _ = cues_as_presented(plan, log)
    assert [c.rgb_right for c in cols] == [c.rgb_right for c in plan.colours]
    frames = [(100.0 + i / 30, np.zeros((4, 4, 3), np.uint8))
              for i in range(int(plan.duration * 30) + 10)]
    rec = assemble_recording(plan, log, frames, 30.0)
    assert response_mismatch(plan, rec) is None
    assert response_mismatch(make_plan(method, NONCE), rec) is not None
