"""Flash timing truth: presented cue times, the recording assembled from them, the display delay
the analysis accounts for, and its estimate from a calibration recording (pure, no models)."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError

from app.capture.analyze import to_input
from app.capture.calibration import estimate_display_delay, shown_light
from app.capture.challenge import ChallengeConfig, digest_of, response_mismatch
from app.capture.plan import ChallengePlan, make_plan
from app.capture.presentation import (
    PresentationError,
    PresentationLog,
    assemble_recording,
    cues_as_presented,
    presentation_errors,
)
from app.capture.recording import Recording, plan_cues

NONCE = bytes.fromhex("00112233445566778899aabbccddeeff")
T0 = 1000.0  # time.monotonic() when the challenge started


def _log_as_shown(plan: ChallengePlan, late: list[float]) -> PresentationLog:
    """A renderer that presents cue i late[i] after its planned start (cues end at the next)."""
    log = PresentationLog()
    cues = [*plan.colours, *plan.actions]
    for i, cue in enumerate(cues):
        log.presented(i, T0 + cue.t_start + late[i])
        if i + 1 < len(cues) and cues[i + 1].t_start > cue.t_end + 1e-6:
            log.cleared(i, T0 + cue.t_end + late[i])
    log.finished(T0 + cues[-1].t_end + late[-1] + 0.004)
    return log


def _frames(t_start: float, t_end: float, fps: float = 30.0) -> list[tuple[float, np.ndarray]]:
    n = int((t_end - t_start) * fps)
    return [(t_start + i / fps, np.full((4, 4, 3), i % 256, np.uint8)) for i in range(n)]


def test_cues_carry_the_presented_times_and_end_at_the_next_presentation() -> None:
    plan = make_plan("FLASHING", NONCE)
    late = [0.016 * (i % 3) for i in range(len(plan.colours))]
    cols, acts = cues_as_presented(plan, _log_as_shown(plan, late))
    assert acts == ()
    assert [c.rgb for c in cols] == [c.rgb for c in plan.colours]
    for i, (c, p) in enumerate(zip(cols, plan.colours, strict=True)):
        assert c.t_start == T0 + p.t_start + late[i]
        if i + 1 < len(cols):
            assert c.t_end == cols[i + 1].t_start
    assert cols[-1].t_end == pytest.approx(T0 + plan.colours[-1].t_end + late[-1] + 0.004)


def test_active_3d_gaps_are_reported_and_kept() -> None:
    plan = make_plan("ACTIVE_3D", NONCE)
    n = len(plan.colours) + len(plan.actions)
    cols, acts = cues_as_presented(plan, _log_as_shown(plan, [0.01] * n))
    assert [a.action for a in acts] == [a.action for a in plan.actions]
    assert cols[-1].t_end == pytest.approx(T0 + plan.colours[-1].t_end + 0.01)
    assert acts[0].t_start == pytest.approx(T0 + plan.actions[0].t_start + 0.01)
    # a renderer that does not report the gap after the last colour is refused
    log = PresentationLog()
    for i, cue in enumerate([*plan.colours, *plan.actions]):
        log.presented(i, T0 + cue.t_start)
    log.finished(T0 + plan.duration)
    with pytest.raises(PresentationError, match="cleared"):
        cues_as_presented(plan, log)


def test_a_skipped_cue_is_refused() -> None:
    plan = make_plan("FLASHING", NONCE)
    log = PresentationLog()
    for i, cue in enumerate(plan.colours):
        if i != 3:
            log.presented(i, T0 + cue.t_start)
    log.finished(T0 + plan.duration)
    with pytest.raises(PresentationError, match="cue 4 presented where the plan has cue 3"):
        cues_as_presented(plan, log)


def test_a_reordered_or_repeated_cue_is_refused() -> None:
    plan = make_plan("FLASHING", NONCE)
    order = list(range(len(plan.colours)))
    order[2], order[3] = order[3], order[2]
    log = PresentationLog()
    for k, i in enumerate(order):
        log.presented(i, T0 + plan.colours[k].t_start)
    log.finished(T0 + plan.duration)
    with pytest.raises(PresentationError, match="skipped, repeated or reordered"):
        cues_as_presented(plan, log)
    again = PresentationLog()
    for i, cue in enumerate(plan.colours):
        again.presented(i, T0 + cue.t_start)
        if i == 1:
            again.presented(1, T0 + cue.t_start + 0.05)
    again.finished(T0 + plan.duration)
    with pytest.raises(PresentationError):
        cues_as_presented(plan, again)


def test_unfinished_backwards_and_trailing_logs_are_refused() -> None:
    plan = make_plan("FLASHING", NONCE)
    log = PresentationLog()
    for i, cue in enumerate(plan.colours):
        log.presented(i, T0 + cue.t_start)
    with pytest.raises(PresentationError, match="never finished"):
        cues_as_presented(plan, log)
    log.finished(T0 + plan.colours[-1].t_start)  # not after the last presentation
    with pytest.raises(PresentationError, match="is not after"):
        cues_as_presented(plan, log)
    ok = _log_as_shown(plan, [0.0] * len(plan.colours))
    ok.presented(0, T0 + plan.duration + 1.0)
    with pytest.raises(PresentationError, match="after the sequence finished"):
        cues_as_presented(plan, ok)
    with pytest.raises(PresentationError, match="finite"):
        PresentationLog().presented(0, float("nan"))


def test_presentation_errors_are_presented_minus_planned() -> None:
    plan = make_plan("FLASHING", NONCE)
    late = [0.001 * i for i in range(len(plan.colours))]
    errs = presentation_errors(plan, _log_as_shown(plan, late), T0)
    assert errs == pytest.approx(late, abs=1e-9)


def test_the_log_is_thread_safe() -> None:
    log = PresentationLog()

    def write(base: int) -> None:
        for k in range(2000):
            log.presented(base + k, float(k))

    threads = [threading.Thread(target=write, args=(b * 10_000,)) for b in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(log.events()) == 8000


def test_assembled_recording_binds_the_presented_times() -> None:
    plan = make_plan("FLASHING", NONCE)
    late = [0.012 + 0.004 * (i % 2) for i in range(len(plan.colours))]
    frames = _frames(T0 - 0.2, T0 + plan.duration + 0.2)
    rec = assemble_recording(plan, _log_as_shown(plan, late), frames, 30.0)
    cols, _ = cues_as_presented(plan, _log_as_shown(plan, late))
    assert rec.colours == cols and rec.nonce == plan.nonce and rec.method == "FLASHING"
    assert rec.times == tuple(t for t, _ in frames)
    assert response_mismatch(plan, rec) is None  # durations within the tolerance
    planned_cols, planned_acts = plan_cues(plan, T0)
    planned = replace(rec, colours=planned_cols, actions=planned_acts)
    assert digest_of(rec) != digest_of(planned)
    assert digest_of(rec) == digest_of(replace(rec))
    with pytest.raises(PresentationError, match="no frame"):
        assemble_recording(plan, _log_as_shown(plan, late), [], 30.0)
    with pytest.raises(PresentationError, match="increase"):
        assemble_recording(plan, _log_as_shown(plan, late), frames[:3][::-1], 30.0)


def _recording(plan: ChallengePlan) -> Recording:
    cols, acts = plan_cues(plan, T0)
    frames = _frames(T0, T0 + plan.duration)
    return Recording(plan.method, plan.nonce, 30.0, tuple(t for t, _ in frames),
                     tuple(f for _, f in frames), cols, acts)


def test_to_input_shifts_the_cues_by_the_display_delay_not_the_recording() -> None:
    rec = _recording(make_plan("ACTIVE_3D", NONCE))
    before = digest_of(rec)
    assert to_input(rec) == to_input(rec, 0.0) == to_input(rec, ChallengeConfig().display_delay_s)
    plain, shifted = to_input(rec), to_input(rec, 0.08)
    for (a0, a1, rgb), (b0, b1, rgb2) in zip(plain.colours, shifted.colours, strict=True):
        assert (b0 - a0, b1 - a1, rgb2) == (pytest.approx(0.08), pytest.approx(0.08), rgb)
    assert [b[0] - a[0] for a, b in zip(plain.actions, shifted.actions, strict=True)] == \
        pytest.approx([0.08] * len(plain.actions))
    assert shifted.times == plain.times and digest_of(rec) == before
    with pytest.raises(ValueError):
        to_input(rec, -0.01)


def test_display_delay_is_configured_in_the_challenge_section() -> None:
    assert ChallengeConfig().display_delay_s == 0.0
    assert ChallengeConfig(display_delay_s=0.08).display_delay_s == 0.08
    for bad in (-0.001, 0.6):
        with pytest.raises(ValidationError):
            ChallengeConfig(display_delay_s=bad)


@pytest.mark.parametrize("true_delay", [0.0, 0.035, 0.085, 0.2])
def test_estimate_display_delay_finds_a_known_delay(true_delay: float) -> None:
    rng = np.random.default_rng(7)
    plan = make_plan("FLASHING", NONCE)
    shown = [(T0 + c.t_start, T0 + c.t_end, c.rgb) for c in plan.colours]
    # 30 fps with a little jitter, starting before and ending after the sequence
    times = T0 - 0.1 + np.arange(0, plan.duration + 0.5, 1 / 30) + rng.uniform(0, 0.002, 1)
    times = np.sort(times + rng.normal(0, 0.0015, len(times)))
    light = shown_light(times, shown, 1 / 30, true_delay)
    light = np.where(np.isfinite(light), light, np.array([0.5, 0.5, 0.5]) ** 2.2)
    mix = np.array([[0.6, 0.1, 0.05], [0.15, 0.7, 0.1], [0.05, 0.2, 0.55]])  # camera's mixing
    response = 40.0 + 90.0 * light @ mix.T + rng.normal(0, 0.4, (len(times), 3))
    est = estimate_display_delay(times, response, shown)
    assert abs(est.delay_s - true_delay) <= 0.005 + 1e-9, est.delay_s
    assert est.fit > 0.95
    assert len(est.fits) == 61 and est.fits[0][0] == 0.0 and est.fits[-1][0] == 0.3


def test_estimate_display_delay_refuses_flat_or_malformed_input() -> None:
    shown = [(0.0, 1.0, (1.0, 0.0, 0.0)), (1.0, 2.0, (0.0, 1.0, 0.0))]
    times = np.arange(0.0, 2.0, 1 / 30)
    with pytest.raises(ValueError, match="does not change"):
        estimate_display_delay(times, np.ones((len(times), 3)), shown)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        estimate_display_delay(times, np.ones((len(times), 2)), shown)
    with pytest.raises(ValueError, match="no colour"):
        estimate_display_delay(times, np.ones((len(times), 3)), [])
