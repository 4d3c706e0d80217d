"""Are these a camera's frame times? A pure analyser over a session's frame time series.

The camera thread stamps each frame with time.monotonic() right after the read and numbers it
(`seq`; gaps are frames the analysis skipped). The flow keeps (seq, t) of every frame pushed
to it; this module judges them against the camera's stated rate:

- too regular: the median distance of a frame interval from the long-run period is below
  `min_jitter_ms` (0.05 ms). A real USB camera's frames reach user space when a USB transfer
  completes and the driver, the scheduler and the decoder have done their part: read()
  times carry roughly 0.1-3 ms of jitter, so the median interval deviation of a real camera is
  about 0.1 ms or more. Frame times computed by a program (a file's i / fps, a generator's
  timestamps, times replayed from a recording) deviate by nothing; a source paced by sleep() on
  an idle machine by tens of microseconds (`poh-lab bench frame-timing` measures it here).
- too late: the camera delivers one frame per more than `max_period_ratio` (2.5) stated
  periods (a 30 fps camera below 12 fps; auto exposure in a dark room may halve a webcam's
  rate, so 2x is still a camera), or one frame was waited for longer than `max_wait_s` (0.5 s,
  and at least four stated periods): a stalled feed, or a source switched under the booth.

A series too short to say (`min_intervals` for regularity, `min_intervals_rate` for the rate)
is not judged. The deviation is measured against the long-run period, not the median
interval: a camera may deliver on the grid of its USB transfers (at 30 fps, intervals of 32 and
36 ms on a 4 ms grid), which deviations from the median interval would read as perfectly
regular.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.session.inputs import CaptureFinding
from sync.vocabulary import WarningCode

MAX_KEPT = 20_000  # frame times kept per session; a session ends long before


@dataclass(frozen=True)
class TimingLimits:
    min_jitter_ms: float = 0.05
    max_period_ratio: float = 2.5
    max_wait_s: float = 0.5
    min_wait_periods: float = 4.0
    min_intervals: int = 30
    min_intervals_rate: int = 10


DEFAULT_LIMITS = TimingLimits()


@dataclass(frozen=True)
class TimingReport:
    intervals: int  # frame pairs measured
    frames: int  # camera frames those pairs span (seq difference)
    period_ms: float | None  # median camera frame period
    stated_period_ms: float | None
    deviation_ms: float | None  # median |interval - long-run period|, per frame
    longest_wait_s: float | None  # the longest wait for one frame
    problems: tuple[str, ...]

    @property
    def finding(self) -> CaptureFinding | None:
        if not self.problems:
            return None
        return CaptureFinding(WarningCode.IRREGULAR_FRAME_TIMING,
                              "frame timing: " + "; ".join(self.problems))


def _pairs(seqs: Sequence[int], times: Sequence[float]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame steps, time steps, segment id) of consecutive frames; a step whose seq does not
    increase (a restarted camera) or whose time does not move starts a new segment."""
    s = np.asarray(seqs, dtype=np.int64)
    t = np.asarray(times, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 1:
        raise ValueError("seqs and times must be two sequences of the same length")
    ds, dt = np.diff(s), np.diff(t)
    ok = (ds > 0) & (dt > 0) & np.isfinite(dt)
    segment = np.cumsum(~ok)
    return ds[ok], dt[ok], segment[ok]


def analyse_frame_times(seqs: Sequence[int], times: Sequence[float],
                        stated_fps: float | None = None,
                        limits: TimingLimits = DEFAULT_LIMITS) -> TimingReport:
    """Judge a session's frame times (seconds on one monotonic clock) against a camera."""
    ds, dt, seg = _pairs(seqs, times)
    stated = 1.0 / stated_fps if stated_fps else None
    if ds.size == 0:
        return TimingReport(0, 0, None, None if stated is None else stated * 1e3, None, None,
                            ())
    per_frame = dt / ds
    period = float(np.median(per_frame))
    # the long-run period of each unbroken stretch: what a camera's clock really ticks at
    long_run = np.empty_like(dt)
    for k in np.unique(seg):
        m = seg == k
        long_run[m] = dt[m].sum() / ds[m].sum()
    # timestamp jitter does not grow with the frames skipped between two stamps: no division
    deviation = float(np.median(np.abs(dt - ds * long_run)))
    ref = stated or period
    wait = dt - (ds - 1) * period
    longest = float(wait.max())
    problems = []
    if ds.size >= limits.min_intervals and deviation * 1e3 < limits.min_jitter_ms:
        problems.append(f"too regular for a camera: intervals deviate by "
                        f"{deviation * 1e3:.3f} ms (median) from the period, a camera's by "
                        f"about 0.1 ms or more (limit {limits.min_jitter_ms:g} ms)")
    if stated is not None and ds.size >= limits.min_intervals_rate \
            and period > limits.max_period_ratio * stated:
        problems.append(f"too slow: one frame per {period * 1e3:.1f} ms, the camera states "
                        f"{stated * 1e3:.1f} ms (limit {limits.max_period_ratio:g}x)")
    max_wait = max(limits.max_wait_s, limits.min_wait_periods * ref)
    if longest > max_wait:
        problems.append(f"a frame came {longest:.2f} s after the one before it "
                        f"(limit {max_wait:.2f} s)")
    return TimingReport(int(ds.size), int(ds.sum()), period * 1e3,
                        None if stated is None else stated * 1e3, deviation * 1e3, longest,
                        tuple(problems))


class FrameTimes:
    """The (seq, t) of the camera frames a session was given, bounded."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.times: list[float] = []

    def add(self, seq: int, t: float) -> None:
        if len(self.seqs) < MAX_KEPT:
            self.seqs.append(seq)
            self.times.append(t)

    def __len__(self) -> int:
        return len(self.seqs)

    def analyse(self, stated_fps: float | None,
                limits: TimingLimits = DEFAULT_LIMITS) -> TimingReport:
        return analyse_frame_times(self.seqs, self.times, stated_fps, limits)
