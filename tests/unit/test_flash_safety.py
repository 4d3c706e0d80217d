"""WCAG 2.3.1 flash safety: the checker on hand-made sequences, and every challenge plan safe."""

from __future__ import annotations

import random

import pytest

from app.capture.flash_safety import (
    DEFAULT_UI,
    RGB,
    UI_DARK,
    UI_LIGHT,
    Segment,
    check_plan,
    check_sequence,
    linear,
    plan_segments,
    relative_luminance,
    survey,
)
from app.capture.plan import MIN_CUE_S, ChallengePlan, ColourCue, make_plan

BLACK: RGB = (0.0, 0.0, 0.0)
WHITE: RGB = (1.0, 1.0, 1.0)
RED: RGB = (1.0, 0.0, 0.0)
GREY: RGB = (0.5, 0.5, 0.5)


def alternate(colours: list[RGB], hz: float, seconds: float = 3.0) -> list[Segment]:
    """Cycle through colours, the whole cycle at hz (two colours at 4 Hz: 8 changes a second)."""
    n = round(seconds * hz * len(colours))
    step = 1.0 / (hz * len(colours))
    return [(i * step, (i + 1) * step, colours[i % len(colours)]) for i in range(n)]


def test_relative_luminance_follows_wcag() -> None:
    assert relative_luminance(WHITE) == pytest.approx(1.0)
    assert relative_luminance(BLACK) == 0.0
    assert relative_luminance(RED) == pytest.approx(0.2126)
    assert relative_luminance(GREY) == pytest.approx(0.2140, abs=1e-4)
    assert linear(0.04) == pytest.approx(0.04 / 12.92)  # below WCAG 2.2's 0.04045 threshold
    assert linear(0.0405) == pytest.approx(((0.0405 + 0.055) / 1.055) ** 2.4)


# --- sequences that must fail


def test_black_white_at_4_hz_fails() -> None:
    r = check_sequence(alternate([BLACK, WHITE], 4.0))
    assert not r.ok and r.max_general_per_s == 4.0


def test_red_black_at_4_hz_fails_on_both_rules() -> None:
    r = check_sequence(alternate([RED, BLACK], 4.0))
    assert not r.ok and r.max_red_per_s == 4.0 and r.max_general_per_s == 4.0


def test_red_against_a_grey_of_equal_luminance_fails_as_a_red_flash_only() -> None:
    equal_grey = (0.498, 0.498, 0.498)  # L 0.2122 against red's 0.2126
    r = check_sequence(alternate([RED, equal_grey], 4.0))
    assert r.max_general_per_s == 0.0 and r.max_red_per_s == 4.0 and not r.ok


def test_red_to_orange_red_is_a_red_flash_by_the_harding_binnie_rule() -> None:
    # Both saturated red, (R-G-B)x320 differs by 32 (> 20); u'v' only 0.08 apart and the
    # luminance only 0.07: only the older rule counts it, and the stricter rule wins.
    r = check_sequence(alternate([RED, (1.0, 0.35, 0.0)], 4.0))
    assert r.max_general_per_s == 0.0 and r.max_red_per_s == 4.0 and not r.ok


def test_dark_red_on_black_is_a_red_flash_by_the_wcag22_rule() -> None:
    # (R-G-B)x320 changes by 16 only, but u'v' 0.26 apart (black read as achromatic).
    r = check_sequence(alternate([(0.25, 0.0, 0.0), BLACK], 4.0))
    assert r.max_general_per_s == 0.0 and r.max_red_per_s == 4.0 and not r.ok


def test_a_ramp_is_one_transition_so_a_fast_stepped_triangle_fails() -> None:
    up = [(v, v, v) for v in (0.2, 0.4, 0.6, 0.8, 1.0)]
    segs = alternate([BLACK, *up, *up[-2::-1]], 4.0)  # 4 Hz black-white-black in steps
    r = check_sequence([*segs, (3.0, 4.0, BLACK)])
    assert not r.ok and r.max_general_per_s == 4.0


def test_seven_transitions_in_a_second_fail() -> None:
    # black, then seven changes 150 ms apart (0 .. 0.9 s), then a long black: 3.5 flashes
    segs: list[Segment] = [(-1.0, 0.0, BLACK)]
    segs += [(i * 0.15, (i + 1) * 0.15, WHITE if i % 2 == 0 else BLACK) for i in range(6)]
    segs.append((0.9, 2.0, WHITE))
    r = check_sequence(segs)
    assert not r.ok and r.max_general_per_s == 3.5 and r.worst_window_start == 0.0
    assert check_sequence([*segs[:-1], (0.9, 2.0, BLACK)]).max_general_per_s == 3.0


# --- sequences that must pass


@pytest.mark.parametrize("pair", [(BLACK, WHITE), (RED, BLACK)])
def test_2_hz_passes(pair: tuple[RGB, RGB]) -> None:
    r = check_sequence(alternate(list(pair), 2.0))
    assert r.ok and r.max_general_per_s == 2.0


def test_3_hz_exactly_passes() -> None:
    r = check_sequence(alternate([BLACK, WHITE], 3.0))  # no more than three: passes
    assert r.ok and r.max_general_per_s == 3.0


def test_small_luminance_steps_pass_at_any_rate() -> None:
    r = check_sequence(alternate([GREY, (0.55, 0.55, 0.55)], 15.0))  # L 0.214 / 0.258
    assert r.ok and r.max_general_per_s == 0.0 and r.max_red_per_s == 0.0


def test_a_small_wiggle_does_not_split_a_transition() -> None:
    segs = alternate([(0.5, 0.5, 0.5), (0.47, 0.47, 0.47)], 15.0)  # L 0.214 / 0.188
    r = check_sequence(segs)
    assert r.ok and r.max_general_per_s == 0.0


def test_changes_between_bright_states_pass() -> None:
    r = check_sequence(alternate([WHITE, (0.92, 0.92, 0.92)], 10.0))  # darker L 0.83 >= 0.8
    assert r.ok and r.max_general_per_s == 0.0


def test_equiluminant_non_red_colours_pass() -> None:
    teal = (0.0, 0.6, 0.6)  # L 0.251, no red
    r = check_sequence(alternate([teal, (0.54, 0.54, 0.54)], 8.0))  # grey L 0.253
    assert r.ok and r.max_general_per_s == 0.0 and r.max_red_per_s == 0.0


def test_a_monotonic_staircase_is_one_transition() -> None:
    segs = [(i * 0.1, (i + 1) * 0.1, (i / 10, i / 10, i / 10)) for i in range(11)]
    r = check_sequence(segs)
    assert r.ok and len(r.general_transitions) == 1 and r.max_general_per_s == 0.5


def test_bad_sequences_are_refused() -> None:
    with pytest.raises(ValueError, match="contiguous"):
        check_sequence([(0.0, 1.0, BLACK), (1.5, 2.0, WHITE)])
    with pytest.raises(ValueError, match="0..1"):
        check_sequence([(0.0, 1.0, (0.0, 0.0, 255.0))])
    with pytest.raises(ValueError, match="ends before"):
        check_sequence([(1.0, 1.0, BLACK)])
    with pytest.raises(ValueError, match="empty"):
        check_sequence([])


# --- plans, with the UI before and after


def test_plan_segments_put_the_ui_around_the_colours() -> None:
    plan = make_plan("ACTIVE_3D", bytes(16))
    segs = plan_segments(plan, UI_LIGHT, UI_DARK)
    assert segs[0] == (-1.0, 0.0, UI_LIGHT) and segs[-1][2] == UI_DARK
    assert segs[-1][0] == plan.colours[-1].t_end  # action prompts are drawn on the UI
    assert DEFAULT_UI == UI_DARK


def _old_plan() -> ChallengePlan:
    """The one plan in 10,000 that failed with 150-300 ms colours (nonce 80308cb3...)."""
    rows = [(0.0, 0.5, (0.5, 0.5, 0.5)), (0.5, 0.6974, (1.0, 0.0, 0.3495)),
            (0.6974, 0.9553, (0.0, 1.0, 0.9615)), (0.9553, 1.2365, (1.0, 0.0, 0.0025)),
            (1.2365, 1.4817, (0.7448, 1.0, 0.0)), (1.4817, 1.765, (0.0, 1.0, 0.6659)),
            (1.765, 1.924, (0.1543, 0.0, 1.0)), (1.924, 2.0805, (1.0, 0.6566, 0.0)),
            (2.0805, 2.234, (0.8639, 0.0, 1.0)), (2.234, 2.4246, (0.0, 1.0, 0.3624)),
            (2.4246, 2.5777, (0.2594, 0.0, 1.0)), (2.5777, 2.7594, (0.0, 1.0, 0.1535))]
    cues = tuple(ColourCue(a, b, rgb) for a, b, rgb in rows)
    return ChallengePlan("FLASHING", bytes.fromhex("80308cb30a2d085b29369c9f3da1163c"), cues, ())


def test_the_ui_after_the_challenge_counts() -> None:
    # Up to the dark UI the last colour is a seventh transition in one second; into the light UI
    # it continues the rise from the blue before it, one transition with it.
    dark = check_plan(_old_plan(), UI_DARK, UI_DARK)
    assert not dark.ok and dark.max_general_per_s == 3.5
    assert dark.general_transitions[-1] == pytest.approx(2.7594)
    light = check_plan(_old_plan(), UI_LIGHT, UI_LIGHT)
    assert light.ok and light.max_general_per_s == 3.0


@pytest.mark.parametrize("method", ["FLASHING", "ACTIVE_3D"])
def test_colours_change_at_most_five_times_a_second(method: str) -> None:
    rng = random.Random(5)
    for _ in range(200):
        plan = make_plan(method, rng.randbytes(16))
        for c in plan.colours[1:]:
            assert c.t_end - c.t_start >= MIN_CUE_S - 1e-4


def _nonces(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(16) for _ in range(n)]


@pytest.mark.parametrize("ui", [UI_DARK, UI_LIGHT], ids=["dark", "light"])
@pytest.mark.parametrize("method", ["FLASHING", "ACTIVE_3D"])
def test_1000_random_nonces_give_safe_sequences(method: str, ui: RGB) -> None:
    s = survey(method, _nonces(1_000, 17), ui, ui)
    assert s.plans == 1_000 and s.unsafe == 0
    assert s.max_general_per_s <= 2.5 and s.max_red_per_s <= 2.5


@pytest.mark.slow
@pytest.mark.parametrize("ui", [UI_DARK, UI_LIGHT, BLACK, WHITE],
                         ids=["dark", "light", "black", "white"])
@pytest.mark.parametrize("method", ["FLASHING", "ACTIVE_3D"])
def test_10000_random_nonces_give_safe_sequences(method: str, ui: RGB) -> None:
    s = survey(method, _nonces(10_000, 2024), ui, ui)
    assert s.plans == 10_000 and s.unsafe == 0
    assert s.max_general_per_s == 2.5 and s.max_red_per_s == 2.5


# --- two-sided plans: each half on its own


def _two_sided(left: list[RGB], right: list[RGB], step: float) -> ChallengePlan:
    cues = tuple(ColourCue(i * step, (i + 1) * step, a, b)
                 for i, (a, b) in enumerate(zip(left, right, strict=True)))
    return ChallengePlan("FLASHING", bytes(16), cues, ())


def test_each_half_of_a_two_sided_plan_is_checked() -> None:
    # the left half steady grey, the right half black/white at 4 Hz: only the right one flashes
    n = 24
    plan = _two_sided([GREY] * n, [BLACK, WHITE] * (n // 2), 1 / 8)
    segs = plan_segments(plan, GREY, GREY, half="right")
    assert [s[2] for s in segs[1:3]] == [BLACK, WHITE]
    assert check_sequence(plan_segments(plan, GREY, GREY)).ok  # the left half alone is steady
    report = check_plan(plan, GREY, GREY)
    assert not report.ok and report.half == "right" and report.max_general_per_s == 4.0
    mirrored = check_plan(_two_sided([BLACK, WHITE] * (n // 2), [GREY] * n, 1 / 8), GREY, GREY)
    assert not mirrored.ok and mirrored.half == "left"
    with pytest.raises(ValueError, match="left or right"):
        plan_segments(plan, half="top")


def test_a_whole_screen_plan_reports_as_before() -> None:
    plan = make_plan("FLASHING", bytes(range(16)))
    report = check_plan(plan)
    assert report.half is None
    assert report == check_sequence(plan_segments(plan))
    assert plan_segments(plan, half="right") == plan_segments(plan)


@pytest.mark.parametrize("ui", [UI_DARK, UI_LIGHT], ids=["dark", "light"])
@pytest.mark.parametrize("method", ["FLASHING", "ACTIVE_3D"])
def test_1000_random_nonces_give_safe_two_sided_sequences(method: str, ui: RGB) -> None:
    # 200-300 ms cues: at most five changes a second on either half, whatever its colours
    # (app/capture/plan.py), so each half stays at 2.5 flashes a second at most
    s = survey(method, _nonces(1_000, 19), ui, ui, halves=True)
    assert s.plans == 1_000 and s.unsafe == 0
    assert s.max_general_per_s <= 2.5 and s.max_red_per_s <= 2.5
    plan = make_plan(method, s.worst_general_nonce, halves=True)
    assert plan.halves and check_plan(plan, ui, ui).half in ("left", "right")
