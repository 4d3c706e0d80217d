"""Flash timing truth: when the kiosk screen really presented each cue of a challenge plan.

The renderer (the Qt flash widget, later) calls `PresentationLog.presented(i, t)` right after the
buffer swap that put cue i on the screen, `cleared(i, t)` when a planned gap follows cue i (the
ACTIVE_3D prompts are separated by the UI) and `finished(t)` after the last cue, every time on
`time.monotonic()`, the clock the camera thread stamps its frames with. The capture recording
then carries these presented times, not the planned ones (ARCHITECTURE.md: cue times are when
the screen presented them), so the analyzer times the answer against what was shown and the
response digest binds it.

Cues are numbered in the plan's order: its colours first, then its actions.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.capture.plan import ActionCue, ChallengePlan, ColourCue
from app.capture.recording import Recording

GAP_S = 1e-6  # planned cues closer than this are contiguous: the next one replaces the last


class PresentationError(ValueError):
    """The presentation log does not show the plan: a cue skipped, reordered, repeated, a gap not
    reported, times running backwards, or the sequence never finished."""


@dataclass(frozen=True)
class _Event:
    kind: str  # presented | cleared | finished
    index: int  # -1 for finished
    t: float


class PresentationLog:
    """What the screen presented, in call order. Thread-safe: the renderer's thread appends, the
    session's thread reads a snapshot once the challenge is over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[_Event] = []

    def _add(self, kind: str, index: int, t: float) -> None:
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise PresentationError(f"{kind} time must be a finite number, not {t!r}")
        with self._lock:
            self._events.append(_Event(kind, index, float(t)))

    def presented(self, cue_index: int, t: float) -> None:
        """Cue `cue_index` is on the screen since `t` (right after the buffer swap)."""
        self._add("presented", int(cue_index), t)

    def cleared(self, cue_index: int, t: float) -> None:
        """Cue `cue_index` left the screen at `t` for a gap the plan has after it."""
        self._add("cleared", int(cue_index), t)

    def finished(self, t: float) -> None:
        """The last cue left the screen at `t`."""
        self._add("finished", -1, t)

    def events(self) -> tuple[tuple[str, int, float], ...]:
        with self._lock:
            return tuple((e.kind, e.index, e.t) for e in self._events)


def _plan_cues(plan: ChallengePlan) -> list[ColourCue | ActionCue]:
    cues: list[ColourCue | ActionCue] = [*plan.colours, *plan.actions]
    for a, b in zip(cues, cues[1:], strict=False):
        if b.t_start < a.t_end - GAP_S:
            raise PresentationError("the plan's cues overlap: no screen can present them in order")
    return cues


def _expected(plan: ChallengePlan) -> list[tuple[str, int]]:
    cues = _plan_cues(plan)
    seq: list[tuple[str, int]] = []
    for i, cue in enumerate(cues):
        seq.append(("presented", i))
        if i + 1 < len(cues) and cues[i + 1].t_start > cue.t_end + GAP_S:
            seq.append(("cleared", i))
    seq.append(("finished", -1))
    return seq


def _describe(kind: str, index: int) -> str:
    return "the end of the sequence" if kind == "finished" else f"cue {index} {kind}"


def _spans(plan: ChallengePlan, log: PresentationLog) -> list[tuple[float, float]]:
    """(presented, ended) per plan cue; PresentationError unless the log is the plan, in order."""
    expected = _expected(plan)
    events = log.events()
    for k, want in enumerate(expected):
        if k >= len(events):
            raise PresentationError(f"the presentation log stops before {_describe(*want)}"
                                    + (" (skipped or never shown)" if want[0] != "finished"
                                       else ": the renderer never finished"))
        got = events[k][:2]
        if got != want:
            raise PresentationError(
                f"the screen reported {_describe(*got)} where the plan has {_describe(*want)}: "
                "a cue was skipped, repeated or reordered")
        if k and events[k][2] <= events[k - 1][2]:
            raise PresentationError(f"{_describe(*got)} at {events[k][2]:.6f} is not after "
                                    f"{_describe(*events[k - 1][:2])} at {events[k - 1][2]:.6f}")
    if len(events) > len(expected):
        raise PresentationError(f"the screen reported {_describe(*events[len(expected)][:2])} "
                                "after the sequence finished")
    starts = {i: t for kind, i, t in events if kind == "presented"}
    ends: dict[int, float] = {}
    for k, (kind, i, _) in enumerate(events):
        if kind == "presented":
            nxt = events[k + 1]
            ends[i] = nxt[2]  # the next presentation, the gap or the end replaces this cue
    return [(starts[i], ends[i]) for i in range(len(starts))]


def cues_as_presented(plan: ChallengePlan, log: PresentationLog
                      ) -> tuple[tuple[ColourCue, ...], tuple[ActionCue, ...]]:
    """The plan's cues with t_start/t_end replaced by when the screen presented them (the end of
    a cue: the next cue's presentation, the gap after it, or the end of the sequence)."""
    spans = _spans(plan, log)
    n = len(plan.colours)
    cols = tuple(replace(c, t_start=s, t_end=e) for c, (s, e) in zip(plan.colours, spans[:n],
                                                                      strict=True))
    acts = tuple(replace(a, t_start=s, t_end=e) for a, (s, e) in zip(plan.actions, spans[n:],
                                                                     strict=True))
    return cols, acts


def presentation_errors(plan: ChallengePlan, log: PresentationLog,
                        t0: float) -> tuple[float, ...]:
    """Per cue, presented minus planned start (seconds; the challenge planned to start at t0)."""
    spans = _spans(plan, log)
    return tuple(s - (cue.t_start + t0) for cue, (s, _) in zip(_plan_cues(plan), spans,
                                                              strict=True))


def assemble_recording(plan: ChallengePlan, log: PresentationLog,
                       frames: Sequence[tuple[float, np.ndarray]], fps: float) -> Recording:
    """The capture recording of a challenge: the camera's frames with their times and the cues as
    presented, all on time.monotonic() (so `digest_of` binds the presented times)."""
    cols, acts = cues_as_presented(plan, log)
    times = tuple(float(t) for t, _ in frames)
    if not times:
        raise PresentationError("the camera recorded no frame during the challenge")
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise PresentationError("frame times must increase")
    return Recording(plan.method, plan.nonce, float(fps), times,
                     tuple(img for _, img in frames), cols, acts)
