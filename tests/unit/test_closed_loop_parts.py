"""Pure parts of the closed-loop simulated camera: the screen's light integrated over an
exposure from the ScreenTimeline, and the person reading the action prompts off the screen."""

from __future__ import annotations

import numpy as np
import pytest

from app.capture.plan import ACTION_WINDOW_S
from app.capture.screen_timeline import ScreenTimeline
from app.lab.simulation.closed_loop.follower import REACTION_S, PromptFollower
from app.lab.simulation.closed_loop.screen_light import presented_light

RED, BLUE, GREY = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.5, 0.5, 0.5)


def test_light_within_one_presentation_is_its_colour() -> None:
    tl = ScreenTimeline()
    tl.show(10.0, RED)
    assert np.allclose(presented_light(tl, 10.1, 10.13), [1.0, 0.0, 0.0])


def test_a_change_inside_the_exposure_mixes_by_overlap() -> None:
    tl = ScreenTimeline()
    tl.show(10.0, RED)
    tl.show(10.2, BLUE)
    light = presented_light(tl, 10.19, 10.23)  # 10 ms of red, 30 ms of blue
    assert light == pytest.approx([0.25, 0.0, 0.75], abs=1e-6)


def test_before_the_first_presentation_the_initial_ui_lights_the_face() -> None:
    tl = ScreenTimeline(initial=GREY)
    tl.show(10.0, RED)
    assert presented_light(tl, 9.0, 9.05) == pytest.approx([0.5 ** 2.2] * 3, rel=1e-5)
    assert presented_light(tl, 9.98, 10.02) == pytest.approx(
        [(0.5 ** 2.2 + 1.0) / 2, 0.5 ** 2.2 / 2, 0.5 ** 2.2 / 2], rel=1e-5)


def test_a_two_sided_cue_gives_the_two_halves_lights() -> None:
    tl = ScreenTimeline(initial=GREY)
    tl.show(10.0, RED, None, BLUE)
    tl.show(10.2, GREY)
    both = presented_light(tl, 10.05, 10.1)
    assert both.shape == (2, 3) and both.dtype == np.float32
    assert np.allclose(both, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # [left, right]
    assert presented_light(tl, 10.1, 10.1).shape == (2, 3)  # a zero-length exposure too
    # 10 ms of red|blue then 30 ms of grey: the whole-screen part lights both halves alike
    g = 0.5 ** 2.2
    mixed = presented_light(tl, 10.19, 10.23)
    assert mixed == pytest.approx(np.array([[0.25 + 0.75 * g, 0.75 * g, 0.75 * g],
                                            [0.75 * g, 0.75 * g, 0.25 + 0.75 * g]]), abs=1e-6)
    assert presented_light(tl, 10.3, 10.33).shape == (3,)  # no two-sided state: as before


def test_the_person_turns_after_seeing_the_prompt_and_comes_back() -> None:
    tl = ScreenTimeline()
    see = 0.03
    f = PromptFollower(tl, see, np.random.default_rng(0))
    tl.show(1.0, GREY, "TURN_LEFT")
    f.update(1.01)  # presented, not yet seen
    assert f.acts == ()
    f.update(1.5)
    assert [(a.action, a.t_start) for a in f.acts] == [("TURN_LEFT", pytest.approx(1.03))]
    yaw_early, _, _, _ = f.pose(1.1, 0.05, 30.0)  # within the reaction time
    yaw_mid, pitch, _, _ = f.pose(1.03 + ACTION_WINDOW_S / 2, 0.05, 30.0)
    assert yaw_early == 0.0 and yaw_mid == pytest.approx(30.0) and pitch == 0.0
    tl.show(2.53, GREY, None)  # the prompt goes at the end of its window
    f.update(3.0)
    assert f.acts[0].t_end == pytest.approx(1.03 + ACTION_WINDOW_S)
    assert f.pose(2.7, 0.05, 30.0)[0] == 0.0


def test_a_prompt_taken_off_early_ends_the_action_a_reaction_later() -> None:
    tl = ScreenTimeline()
    f = PromptFollower(tl, 0.0, np.random.default_rng(0))
    tl.show(1.0, GREY, "LOOK_UP")
    tl.show(1.6, GREY, None)
    f.update(2.0)
    assert f.acts[0].t_end == pytest.approx(1.6 + REACTION_S)


def test_blink_and_smile_prompts_are_performed() -> None:
    tl = ScreenTimeline()
    f = PromptFollower(tl, 0.0, np.random.default_rng(1))
    tl.show(1.0, GREY, "BLINK")
    tl.show(2.5, GREY, None)
    tl.show(2.8, GREY, "SMILE")
    tl.show(4.3, GREY, None)
    f.update(5.0)
    assert [a.action for a in f.acts] == ["BLINK", "SMILE"]
    blinks = [f.pose(t, 0.02, 30.0)[2] for t in np.arange(1.0, 2.5, 0.01)]
    assert max(blinks) > 0.9  # the eye closes once at least
    assert f.pose(3.55, 0.02, 30.0)[3] > 0.6  # smiling mid-window
    assert f.pose(0.5, 0.02, 30.0) == (0.0, 0.0, 0.0, 0.0)
