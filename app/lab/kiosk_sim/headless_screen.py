"""A headless kiosk screen: it presents a ChallengePlan at its planned times on its own thread
and records what it presented exactly as the Qt screen does, on time.monotonic(): the light and
prompt on the ScreenTimeline (what the closed-loop camera is lit by) and each cue on the
PresentationLog (what the capture recording is assembled from).

Nothing is drawn: "presented" is the moment the thread wakes for a cue. Faults can be injected
to test the timing checks: `late` presents cue i that many seconds after its planned time, and
`skip` never presents cue i (the previous cue stays up; the log then lacks it). Cues are
numbered as in the PresentationLog: the plan's colours first, then its actions. Colour cues
light the whole screen, or its two halves apart (a cue's rgb_right, on the timeline too);
action prompts are drawn on the UI background (its colour is the light).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from app.capture.plan import ActionCue, ChallengePlan, ColourCue
from app.capture.presentation import GAP_S, PresentationLog
from app.capture.screen_timeline import Rgb, ScreenTimeline

log = logging.getLogger(__name__)

UI_RGB: Rgb = (0.07, 0.07, 0.07)  # the kiosk UI's dark background (ScreenTimeline's default)
LEAD_S = 0.15  # from "draw this plan" to its first cue: the screen's first frame
STOP_WAIT_S = 5.0  # a bound for a stopped presentation's thread to end


@dataclass
class Presentation:
    """One plan as presented: the log, when it was planned to start, and whether it ended."""

    plan: ChallengePlan
    log: PresentationLog
    t0: float  # planned start of the challenge (time.monotonic())
    t_end: float | None = None  # when the last cue left the screen; None if stopped
    stopped: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)


class HeadlessScreen:
    """Presents plans on a thread; shows the UI background in between."""

    def __init__(self, timeline: ScreenTimeline, *, ui_rgb: Rgb = UI_RGB,
                 late: Mapping[int, float] | None = None, skip: Collection[int] = (),
                 lead_s: float = LEAD_S, clock: Callable[[], float] = time.monotonic) -> None:
        if any(v < 0 for v in (late or {}).values()):
            raise ValueError("lateness must not be negative")
        self.timeline = timeline
        self.ui_rgb = ui_rgb
        self.late = dict(late or {})
        self.skip = frozenset(skip)
        self.lead_s = lead_s
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Presentation | None = None

    def show_ui(self, action: str | None = None) -> float:
        """Show the UI (between challenges); returns the presentation time."""
        t = self._clock()
        self.timeline.show(t, self.ui_rgb, action)
        return t

    def stop(self) -> None:
        """Stop presenting (the session ended); the plan under way is not finished."""
        with self._lock:
            if self._current is not None:
                self._current.stop.set()

    def present(self, plan: ChallengePlan,
                on_done: Callable[[Presentation], None] | None = None) -> Presentation:
        """Start presenting `plan` on a new thread; `on_done(presentation)` runs on that thread
        once the last cue has left the screen (or the screen was stopped)."""
        with self._lock:
            previous = self._current
        # a stopped plan ends within a moment (its thread wakes on the stop event)
        if previous is not None and not previous.done.wait(STOP_WAIT_S if previous.stop.is_set()
                                                           else 0.0):
            raise RuntimeError("the screen is presenting another plan")
        p = Presentation(plan, PresentationLog(), self._clock() + self.lead_s)
        with self._lock:
            self._current = p
        thread = threading.Thread(target=self._run, args=(p, on_done), name="headless-screen",
                                  daemon=True)
        thread.start()
        return p

    def _run(self, p: Presentation, on_done: Callable[[Presentation], None] | None) -> None:
        try:
            self._present(p)
        except Exception:  # report through the presentation (never finished), not the thread
            log.exception("the headless screen failed")
            p.stopped = True
        finally:
            p.done.set()
            if on_done is not None:
                try:
                    on_done(p)
                except Exception:
                    log.exception("the presentation callback failed")

    def _wait_until(self, p: Presentation, t: float) -> bool:
        """Sleep until t; False if stopped meanwhile."""
        while True:
            wait = t - self._clock()
            if wait <= 0:
                return not p.stop.is_set()
            if p.stop.wait(wait):
                return False

    def _present(self, p: Presentation) -> None:
        cues: list[ColourCue | ActionCue] = [*p.plan.colours, *p.plan.actions]
        for i, cue in enumerate(cues):
            if i in self.skip:
                log.info("headless screen: cue %d skipped (injected)", i)
                continue
            if not self._wait_until(p, p.t0 + cue.t_start + self.late.get(i, 0.0)):
                p.stopped = True
                return
            t = self._clock()
            if isinstance(cue, ColourCue):
                self.timeline.show(t, cue.rgb, None, cue.rgb_right)
            else:
                self.timeline.show(t, self.ui_rgb, cue.action)
            p.log.presented(i, t)
            nxt = cues[i + 1] if i + 1 < len(cues) else None
            if nxt is not None and nxt.t_start > cue.t_end + GAP_S:  # a planned gap: the UI
                if not self._wait_until(p, p.t0 + cue.t_end):
                    p.stopped = True
                    return
                t = self._clock()
                self.timeline.show(t, self.ui_rgb, None)
                p.log.cleared(i, t)
        if not self._wait_until(p, p.t0 + cues[-1].t_end if cues else p.t0):
            p.stopped = True
            return
        t = self._clock()
        self.timeline.show(t, self.ui_rgb, None)
        p.log.finished(t)
        p.t_end = t
