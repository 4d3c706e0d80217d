"""The frame-time analyser on synthetic series: a generator at exactly 30.000 fps is too
regular; a realistic jittery camera is not; long gaps and a rate far below the stated one are
late; a real camera delivering on a 4 ms USB transfer grid is not mistaken for a generator."""

from __future__ import annotations

import numpy as np
import pytest

from app.capture.frame_timing import FrameTimes, TimingLimits, analyse_frame_times
from sync.vocabulary import WarningCode

FPS = 30.0


def series(n: int, jitter_ms: float, seed: int = 0, fps: float = FPS
           ) -> tuple[list[int], list[float]]:
    rng = np.random.default_rng(seed)
    t = 100.0 + np.arange(n) / fps + rng.normal(0.0, jitter_ms / 1e3, n)
    return list(range(n)), list(np.sort(t))


def test_a_regular_30_fps_generator_is_flagged() -> None:
    seqs = list(range(90))
    times = [5.0 + i / 30.000 for i in seqs]
    rep = analyse_frame_times(seqs, times, FPS)
    assert rep.finding is not None and rep.finding.code is WarningCode.IRREGULAR_FRAME_TIMING
    assert "too regular" in rep.finding.reason
    assert rep.deviation_ms is not None and rep.deviation_ms < 1e-6
    assert rep.period_ms == pytest.approx(1000 / 30)


@pytest.mark.parametrize("jitter_ms", [0.1, 0.5, 3.0])
@pytest.mark.parametrize("seed", range(5))
def test_a_realistic_jittery_camera_is_not_flagged(jitter_ms: float, seed: int) -> None:
    seqs, times = series(150, jitter_ms, seed)
    rep = analyse_frame_times(seqs, times, FPS)
    assert rep.problems == (), rep.problems
    assert rep.deviation_ms is not None and rep.deviation_ms > 0.05


def test_frames_skipped_by_the_analysis_do_not_change_the_verdict() -> None:
    # the worker takes only the newest frame: every 3rd to 7th camera frame reaches the flow
    rng = np.random.default_rng(3)
    seqs, times = series(2000, 0.3, 3)
    keep = np.cumsum(rng.integers(3, 8, 200))
    keep = keep[keep < 2000]
    rep = analyse_frame_times([seqs[i] for i in keep], [times[i] for i in keep], FPS)
    assert rep.problems == () and rep.frames > rep.intervals
    exact = [5.0 + i / 30 for i in keep]
    assert "too regular" in analyse_frame_times(list(keep), exact, FPS).problems[0]


def test_a_camera_on_a_4_ms_usb_grid_is_not_read_as_regular() -> None:
    # 30 fps delivered when a 4 ms transfer completes: intervals of 32 and 36 ms, a few us of
    # interrupt jitter; two thirds of the intervals are equal, the long-run period is 33.3 ms
    rng = np.random.default_rng(1)
    ideal = 100.0 + np.arange(120) / FPS
    grid = np.ceil(ideal / 0.004) * 0.004 + rng.normal(0, 5e-6, ideal.size)
    rep = analyse_frame_times(list(range(120)), list(grid), FPS)
    assert rep.problems == ()
    assert rep.deviation_ms is not None and rep.deviation_ms > 1.0


def test_long_gaps_are_late() -> None:
    seqs, times = series(100, 0.5, 7)
    times = [t + (0.8 if i >= 50 else 0.0) for i, t in enumerate(times)]  # one 0.8 s stall
    rep = analyse_frame_times(seqs, times, FPS)
    assert rep.finding is not None
    assert any("after the one before it" in p for p in rep.problems)
    assert rep.longest_wait_s is not None and rep.longest_wait_s > 0.8


def test_a_rate_far_below_the_stated_one_is_late() -> None:
    seqs, times = series(60, 0.5, 2, fps=8.0)  # 8 fps from a camera that says 30
    rep = analyse_frame_times(seqs, times, FPS)
    assert any("too slow" in p for p in rep.problems)
    # a dark room halving the rate (15 fps) is still a camera
    seqs, times = series(60, 0.5, 2, fps=15.0)
    assert analyse_frame_times(seqs, times, FPS).problems == ()
    # without a stated rate the rate is not judged
    seqs, times = series(60, 0.5, 2, fps=8.0)
    assert analyse_frame_times(seqs, times, None).problems == ()


def test_short_series_are_not_judged() -> None:
    seqs = list(range(20))
    rep = analyse_frame_times(seqs, [i / 30 for i in seqs], FPS)
    assert rep.problems == () and rep.intervals == 19
    empty = analyse_frame_times([], [], FPS)
    assert empty.intervals == 0 and empty.finding is None


def test_a_restarted_camera_starts_a_new_stretch() -> None:
    seqs, times = series(40, 0.4, 4)
    seqs2, times2 = series(40, 0.4, 5)
    # numbering starts again and times jump back: neither pair across the restart is measured
    rep = analyse_frame_times(seqs + seqs2, times + [t - 50 for t in times2], FPS)
    assert rep.intervals == 78 and rep.problems == ()


def test_limits_are_the_callers() -> None:
    seqs, times = series(150, 0.1, 0)
    strict = TimingLimits(min_jitter_ms=1.0)
    assert "too regular" in analyse_frame_times(seqs, times, FPS, strict).problems[0]


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        analyse_frame_times([1, 2, 3], [0.1, 0.2], FPS)


def test_frame_times_collector_is_bounded() -> None:
    ft = FrameTimes()
    for i in range(25_000):
        ft.add(i, i / 30)
    assert len(ft) == 20_000
    assert ft.analyse(FPS).finding is not None
