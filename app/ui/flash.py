"""The flash renderer: draws a challenge plan at the plan's timing and logs when each cue was
really presented (flash timing truth).

Timing truth. For each cue the renderer (1) waits on a precise single-shot QTimer for the cue's
planned time, measured from one start time t0 (never from the previous cue, so errors do not add
up), (2) paints the cue with a synchronous `repaint()`, which paints the widget and flushes the
backing store to the window system before it returns, then (3) reads t = time.monotonic() (the
clock the camera thread stamps frames with) and calls `PresentationLog.presented(i, t)` and
`ScreenTimeline.show(t, rgb, action, rgb_right)`. "Presented" therefore means: the window system
holds the frame showing cue i. Under QT_QPA_PLATFORM=offscreen that is the whole truth (the flush
copies into the offscreen surface that grabs and screenshots read; there is no OpenGL context
there, so a QOpenGLWindow's frameSwapped never fires). On a real display the panel lights up later
(the compositor, the next vertical blank, scan-out, the panel's response, the camera's exposure):
that delay is what `display_delay_s` in the challenge configuration holds, measured on the booth
(app/capture/calibration.py), and the analysis shifts the presented cues by it; the recording and
its digest keep the presented times.

Tests inject lateness (`late(i)`: seconds to present cue i after its planned time) and skips: the
screen then really shows the cue late or never, and the log says so; a cue shown longer or
shorter than planned by more than `cue_tolerance_s` fails the response check, and a skipped cue
makes the log refuse to assemble a recording.

A two-sided cue (ColourCue.rgb_right set) paints the widget's left half with rgb and its right
half with rgb_right, split at the vertical centre line: the person faces the screen, so the
widget's left is their left (the kiosk window fills the screen).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.capture.plan import ActionCue, ChallengePlan, ColourCue
from app.capture.presentation import GAP_S, PresentationLog
from app.capture.screen_timeline import Rgb, ScreenTimeline
from app.ui import theme
from app.ui.i18n import Translator

log = logging.getLogger(__name__)

Lateness = Callable[[int], float]  # cue index -> seconds late (0: on time)


@dataclass(frozen=True)
class _Step:
    kind: str  # present | clear | finish
    index: int  # plan cue index (colours first, then actions); -1 for finish
    at: float  # seconds after t0


def schedule(plan: ChallengePlan) -> list[_Step]:
    """The renderer's steps: present every cue, clear where the plan has a gap, then finish
    (the same order app.capture.presentation expects)."""
    cues: list[ColourCue | ActionCue] = [*plan.colours, *plan.actions]
    steps: list[_Step] = []
    for i, cue in enumerate(cues):
        steps.append(_Step("present", i, cue.t_start))
        if i + 1 < len(cues) and cues[i + 1].t_start > cue.t_end + GAP_S:
            steps.append(_Step("clear", i, cue.t_end))
    if cues:
        steps.append(_Step("finish", -1, cues[-1].t_end))
    return steps


def _qcolor(rgb: Rgb) -> QColor:
    return QColor.fromRgbF(*rgb)


class FlashRenderer(QWidget):
    """Full-window challenge drawing; `done` is emitted after the sequence finished."""

    done = Signal()

    def __init__(self, tr: Translator, timeline: ScreenTimeline | None = None, *,
                 late: Lateness | None = None, skip: frozenset[int] = frozenset(),
                 clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("challenge")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._tr = tr
        self._timeline = timeline
        self.late = late
        self.skip = skip
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._step)
        self._ticker = QTimer(self)  # redraws the action progress bar; changes no light
        self._ticker.setInterval(50)
        self._ticker.timeout.connect(self.update)
        self._plan: ChallengePlan | None = None
        self._log: PresentationLog | None = None
        self._steps: list[_Step] = []
        self._k = 0
        self._t0 = 0.0
        self._rgb: Rgb = theme.BACKGROUND_RGB
        self._rgb_right: Rgb | None = None  # the right half's colour of a two-sided cue
        self._action: str | None = None
        self._action_span: tuple[float, float] = (0.0, 1.0)
        self._prompts: dict[str, QImage] = {}  # pre-rendered: presenting one is a blit
        self.playing = False

    # ---- control -----------------------------------------------------------------------------
    def play(self, plan: ChallengePlan, presentation: PresentationLog) -> float:
        """Start drawing `plan` now; returns t0, the time its cue times are measured from."""
        if self.playing:
            raise RuntimeError("a challenge is already being drawn")
        self._plan, self._log = plan, presentation
        self._steps = schedule(plan)
        self._prompts = {a.action: self._render_prompt(a.action) for a in plan.actions}
        self._k = 0
        self._t0 = self._clock()
        self.playing = True
        log.info("drawing a %s challenge: %d steps, %.2f s", plan.method, len(self._steps),
                 plan.duration)
        self._step()
        return self._t0

    def stop(self) -> None:
        """Abort (the session ended): back to the UI background, nothing more logged."""
        self._timer.stop()
        self._ticker.stop()
        if self.playing:
            self.playing = False
            self._show_ui(None)

    # ---- the steps ---------------------------------------------------------------------------
    def _due(self, step: _Step) -> float:
        extra = self.late(step.index) if (self.late and step.kind == "present") else 0.0
        return self._t0 + step.at + extra

    def _step(self) -> None:
        while self.playing and self._k < len(self._steps):
            step = self._steps[self._k]
            wait = self._due(step) - self._clock()
            if wait > 0.0005:
                self._timer.start(max(0, round(wait * 1000)) if wait >= 0.001 else 0)
                return
            self._k += 1
            self._apply(step)
        if self.playing and self._k >= len(self._steps):
            self.playing = False
            self._ticker.stop()
            self.done.emit()

    def _apply(self, step: _Step) -> None:
        plan, plog = self._plan, self._log
        if plan is None or plog is None:
            return
        if step.kind == "present":
            if step.index in self.skip:
                log.warning("test hook: cue %d skipped", step.index)
                return
            n = len(plan.colours)
            if step.index < n:
                cue = plan.colours[step.index]
                self._rgb, self._rgb_right, self._action = cue.rgb, cue.rgb_right, None
                self._ticker.stop()
            else:
                act = plan.actions[step.index - n]
                self._rgb, self._rgb_right = theme.BACKGROUND_RGB, None
                self._action = act.action
                self._action_span = (0.0, act.t_end - act.t_start)
                self._ticker.start()
            t = self._present()
            self._action_span = (t, self._action_span[1])
            plog.presented(step.index, t)
            if self._timeline is not None:
                self._timeline.show(t, self._rgb, self._action, self._rgb_right)
        elif step.kind == "clear":
            plog.cleared(step.index, self._show_ui(None))
        else:
            plog.finished(self._show_ui(None))

    def _show_ui(self, action: str | None) -> float:
        self._ticker.stop()
        self._rgb, self._rgb_right, self._action = theme.BACKGROUND_RGB, None, action
        t = self._present()
        if self._timeline is not None:
            self._timeline.show(t, self._rgb, action)
        return t

    def _present(self) -> float:
        """Paint now and flush to the window system; the time right after (see the module)."""
        self.repaint()
        return self._clock()

    # ---- drawing -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            r = self.rect()
            if self._rgb_right is None:
                p.fillRect(r, _qcolor(self._rgb))
            else:
                mid = r.width() // 2  # an odd column goes to the right half
                p.fillRect(QRect(r.x(), r.y(), mid, r.height()), _qcolor(self._rgb))
                p.fillRect(QRect(r.x() + mid, r.y(), r.width() - mid, r.height()),
                           _qcolor(self._rgb_right))
            if self._action is not None:
                self._draw_action(p, self._action)
        finally:
            p.end()

    def _render_prompt(self, action: str) -> QImage:
        """The prompt's symbol and text on the UI background, drawn once before the challenge
        (laying out large glyphs can take longer than a display frame)."""
        img = QImage(self.size(), QImage.Format.Format_RGB32)
        img.fill(_qcolor(theme.BACKGROUND_RGB))
        p = QPainter(img)
        try:
            w, h = img.width(), img.height()
            p.setPen(QColor(theme.FOREGROUND))
            sym = QFont("DejaVu Sans")
            sym.setPointSize(theme.SYMBOL_PT * 2)
            p.setFont(sym)
            p.drawText(QRectF(0, h * 0.08, w, h * 0.5), Qt.AlignmentFlag.AlignCenter,
                       theme.SYMBOLS.get(action, "?"))
            txt = QFont("DejaVu Sans")
            txt.setPointSize(theme.TITLE_PT)
            txt.setBold(True)
            p.setFont(txt)
            p.drawText(QRectF(0, h * 0.58, w, h * 0.15), Qt.AlignmentFlag.AlignCenter,
                       self._tr.tr(f"actions.{action}"))
        finally:
            p.end()
        return img

    def _draw_action(self, p: QPainter, action: str) -> None:
        r = self.rect()
        prompt = self._prompts.get(action)
        if prompt is None or prompt.size() != r.size():  # resized (or a language switch)
            prompt = self._prompts[action] = self._render_prompt(action)
        p.drawImage(0, 0, prompt)
        started, length = self._action_span
        frac = min(1.0, max(0.0, (self._clock() - started) / length)) if length > 0 else 1.0
        bar = QRectF(r.width() * 0.15, r.height() * 0.8, r.width() * 0.7, r.height() * 0.05)
        p.setPen(QColor(theme.FOREGROUND))
        p.drawRect(bar)
        p.fillRect(QRectF(bar.x(), bar.y(), bar.width() * frac, bar.height()),
                   QColor(theme.FOREGROUND))

    def retranslate(self) -> None:
        """The prompts in the new language (drawn again, outside any cue's timing)."""
        self._prompts.clear()
        self.update()
