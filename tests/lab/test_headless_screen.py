"""The headless screen presents a plan on its own thread and records it as the Qt renderer does:
every cue on the PresentationLog and the light and prompt on the ScreenTimeline, on
time.monotonic(); injected lateness and skips show in the log. Real threads, real sleeps; the
only timing facts asserted are lower bounds the screen guarantees (it never presents early)."""

from __future__ import annotations

import pytest

from app.capture.plan import make_plan
from app.capture.presentation import PresentationError, cues_as_presented, presentation_errors
from app.capture.screen_timeline import ScreenTimeline
from app.lab.kiosk_sim.headless_screen import UI_RGB, HeadlessScreen

JOIN = 30.0
NONCE = bytes(range(16))


def test_a_flash_plan_is_presented_in_order_and_recorded() -> None:
    tl = ScreenTimeline()
    plan = make_plan("FLASHING", NONCE)
    p = HeadlessScreen(tl).present(plan)
    assert p.done.wait(JOIN) and p.t_end is not None and not p.stopped
    cols, _ = cues_as_presented(plan, p.log)
    for shown, asked in zip(cols, plan.colours, strict=True):
        assert shown.rgb == asked.rgb
        assert tl.at((shown.t_start + shown.t_end) / 2).rgb == asked.rgb
        assert shown.t_start >= p.t0 + asked.t_start  # never early
    assert tl.at(p.t_end + 0.001).rgb == UI_RGB  # back to the UI background


def test_action_prompts_are_shown_on_the_ui_background_with_gaps() -> None:
    tl = ScreenTimeline()
    plan = make_plan("ACTIVE_3D", NONCE)
    p = HeadlessScreen(tl).present(plan)
    assert p.done.wait(JOIN) and p.t_end is not None
    _, acts = cues_as_presented(plan, p.log)
    for shown, asked in zip(acts, plan.actions, strict=True):
        state = tl.at((shown.t_start + shown.t_end) / 2)
        assert state.action == asked.action and state.rgb == UI_RGB
        assert tl.at(shown.t_end + 0.001).action is None  # the planned gap after it


def test_lateness_and_skips_show_in_the_log() -> None:
    plan = make_plan("FLASHING", NONCE)
    late = HeadlessScreen(ScreenTimeline(), late={3: 0.15}).present(plan)
    skipped = HeadlessScreen(ScreenTimeline(), skip={4}).present(plan)
    assert late.done.wait(JOIN) and skipped.done.wait(JOIN)
    assert presentation_errors(plan, late.log, late.t0)[3] >= 0.15
    with pytest.raises(PresentationError, match="skipped"):
        cues_as_presented(plan, skipped.log)


def test_a_stopped_plan_is_not_finished_and_the_next_one_runs() -> None:
    tl = ScreenTimeline()
    screen = HeadlessScreen(tl)
    plan = make_plan("FLASHING", NONCE)
    first = screen.present(plan)
    screen.stop()
    second = screen.present(plan)
    assert first.done.wait(JOIN) and first.stopped and first.t_end is None
    with pytest.raises(PresentationError):
        cues_as_presented(plan, first.log)
    assert second.done.wait(JOIN) and second.t_end is not None
    cues_as_presented(plan, second.log)


def test_a_two_sided_plan_lights_the_halves_apart() -> None:
    tl = ScreenTimeline()
    plan = make_plan("FLASHING", NONCE, halves=True)
    p = HeadlessScreen(tl).present(plan)
    assert p.done.wait(JOIN) and p.t_end is not None
    cols, _ = cues_as_presented(plan, p.log)
    for shown, asked in zip(cols, plan.colours, strict=True):
        assert shown.rgb_right == asked.rgb_right
        state = tl.at((shown.t_start + shown.t_end) / 2)
        assert (state.rgb, state.rgb_right) == (asked.rgb, asked.rgb_right)
    assert sum(s.rgb_right is not None for s in tl.since(p.t0)) == len(plan.colours) - 1
    assert tl.at(p.t_end + 0.001).rgb_right is None  # the UI background is whole
