"""The simulated person reading the kiosk's action prompts off the screen.

A prompt is seen when its light reaches the person (presented + the display delay). Each new
prompt opens an action window of the plan's length (ACTION_WINDOW_S: the screen's progress
indicator tells how long), performed as the evaluation's person performs the plan's windows:
a head turn or look-up ramps in 0.25 s after the prompt is seen and out 0.25 s before the
window's end (expressions.ramp); a blink comes 0.25-0.55 s after it, a smile ramps like a turn.
A prompt taken off the screen early ends its window a reaction time after that is seen.
"""

from __future__ import annotations

import math

import numpy as np

from app.capture.plan import ACTION_WINDOW_S, ACTIONS, ActionCue
from app.capture.screen_timeline import ScreenTimeline
from app.lab.simulation.flash.actors import Performance, head_pose, photo_yaw

REACTION_S = 0.25  # from seeing a prompt go to stopping the action


class PromptFollower:
    """Action windows as the person saw them; update(t) before asking for the pose at t."""

    def __init__(self, timeline: ScreenTimeline, see_delay: float,
                 rng: np.random.Generator, window: float = ACTION_WINDOW_S) -> None:
        self._timeline = timeline
        self._see_delay = see_delay
        self._rng = rng
        self._window = window
        self._last = -math.inf  # presentation time of the last state taken in
        self._current: str | None = None
        self.acts: tuple[ActionCue, ...] = ()
        self.performance = Performance((), ())

    def update(self, t: float) -> None:
        """Take in every prompt change the person has seen by time t."""
        horizon = t - self._see_delay
        if horizon <= self._last:
            return
        start = self._last if math.isfinite(self._last) else -math.inf
        for state in self._timeline.since(start):
            if state.t <= self._last:
                continue
            if state.t > horizon:
                break
            self._last = state.t
            action = state.action if state.action in ACTIONS else None
            if action == self._current:
                continue
            seen = state.t + self._see_delay
            if self._current is not None and self.acts:
                last = self.acts[-1]
                end = min(last.t_end, seen + REACTION_S)
                self.acts = (*self.acts[:-1], ActionCue(last.t_start, end, last.action))
            if action is not None:
                cue = ActionCue(seen, seen + self._window, action)
                self.acts = (*self.acts, cue)
                self.performance = self.performance.asked(cue, self._rng)
            self._current = action

    def pose(self, t: float, exposure: float, turn: float) -> tuple[float, float, float, float]:
        """(yaw, pitch, blink, smile) of the live person's frame at t."""
        yaw, pitch = head_pose(t, self.acts, turn)
        blink, smile = self.performance.at(t, exposure)
        return yaw, pitch, blink, smile

    def photo_yaw(self, t: float, turn: float) -> float:
        """How far an attacker swings a photo at t to fake the turn prompts."""
        return photo_yaw(t, self.acts, turn)
