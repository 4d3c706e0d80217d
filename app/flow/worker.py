"""The session worker: a plain callable loop that drives one SessionFlow from a camera mailbox.

It runs on its own thread (`start()`), or on a thread the caller owns (`run()`), and is the only
thread that touches the flow once started. Each turn it takes the newest frame from the
latest-only mailbox and pushes it with its capture time; when no frame comes within
`tick_interval` it ticks the flow on time.monotonic() (the camera's clock), so walk-away and
expiry fire without frames. The flow's events go to `on_event` (the kiosk screen wraps it in a
Qt signal; it is called on the worker's thread). Cancellation is a Qt-free token
(threading.Event): `cancel()` ends the session as cancelled. A lost camera (`camera_lost()`,
wired to the camera thread's callback) ends it with `source_ended("camera lost: ...")`.
Other threads (the kiosk screen) hand the person's actions over with `submit(action)`: the
action is queued and called as `action(flow, t)` on the worker's thread at its next turn (before
the next frame), so the flow is still touched by one thread only.
`on_finished(outcome)` is called exactly once, whatever happens; an exception is logged with
its traceback, reported as SessionFailed and ends the session unfinished (fail closed).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from app.capture.mailbox import LatestFrameMailbox
from app.flow.controller import SessionFlow
from app.flow.events import FlowEvent, SessionFailed
from app.flow.result import SessionResult

FlowAction = Callable[[SessionFlow, float], object]

log = logging.getLogger(__name__)

DEFAULT_TICK_INTERVAL = 0.1  # seconds without a frame before the flow is ticked


class WorkerEnd(StrEnum):
    """Why the worker stopped."""

    FINISHED = "FINISHED"  # the session reached its result (any status)
    CANCELLED = "CANCELLED"  # the cancellation token was set
    CAMERA_LOST = "CAMERA_LOST"  # the camera thread reported the camera lost
    SOURCE_CLOSED = "SOURCE_CLOSED"  # the mailbox was closed
    FAILED = "FAILED"  # an exception (logged with its traceback); no verdict may exist


@dataclass(frozen=True)
class WorkerOutcome:
    end: WorkerEnd
    result: SessionResult | None  # the flow's result, when the session reached one
    error: str | None = None  # the failure, for FAILED


class SessionWorker:
    """Drives one flow from one mailbox; see the module docstring."""

    def __init__(self, flow: SessionFlow, mailbox: LatestFrameMailbox, *,
                 on_event: Callable[[FlowEvent], None],
                 on_finished: Callable[[WorkerOutcome], None],
                 on_start: Callable[[SessionFlow, float], None] | None = None,
                 tick_interval: float = DEFAULT_TICK_INTERVAL,
                 cancel_token: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if tick_interval <= 0:
            raise ValueError("tick_interval must be positive")
        self.flow = flow
        self.mailbox = mailbox
        self.on_event = on_event
        self.on_finished = on_finished
        self.on_start = on_start
        self.tick_interval = tick_interval
        self.cancel_token = cancel_token if cancel_token is not None else threading.Event()
        self._clock = clock
        self._lost_lock = threading.Lock()
        self._lost: str | None = None
        self._actions: collections.deque[FlowAction] = collections.deque()
        self._cancel_reason = "cancelled by the operator"
        self._thread: threading.Thread | None = None
        self.outcome: WorkerOutcome | None = None
        flow.subscribe(self._forward)

    # ---- from other threads ------------------------------------------------------------------
    def cancel(self, reason: str | None = None) -> None:
        """End the session as cancelled (at the next turn, within tick_interval)."""
        if reason:
            self._cancel_reason = reason
        self.cancel_token.set()

    def camera_lost(self, reason: str) -> None:
        """The camera thread's on_lost callback: end the session as abandoned."""
        with self._lost_lock:
            if self._lost is None:
                self._lost = reason

    def submit(self, action: FlowAction) -> None:
        """Run `action(flow, t)` on the worker's thread at its next turn (thread-safe; in the
        order submitted). An action that raises fails the session like any other exception."""
        self._actions.append(action)  # deque.append/popleft are atomic

    def start(self, name: str = "session-worker") -> threading.Thread:
        """Run the loop on a new daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the worker was started already")
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has ended."""
        if self._thread is None:
            raise RuntimeError("the worker was not started")
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        """The plain callable: drive the flow until it finishes, is cancelled or fails."""
        outcome: WorkerOutcome | None = None
        try:
            outcome = self._loop()
        except Exception as exc:  # report, never raise out of the thread
            log.exception("session worker failed (session %s)", self.flow.session_id)
            outcome = self._failed(exc)
        finally:
            if outcome is None:  # BaseException (e.g. KeyboardInterrupt) on its way out
                outcome = WorkerOutcome(WorkerEnd.FAILED, self.flow.result, "interrupted")
            self.outcome = outcome
            try:
                self.on_finished(outcome)
            except Exception:
                log.exception("the on_finished callback failed")

    def _loop(self) -> WorkerOutcome:
        flow = self.flow
        if self.on_start is not None:
            self.on_start(flow, self._clock())
        while True:
            if flow.finished:
                return WorkerOutcome(WorkerEnd.FINISHED, flow.result)
            if self.cancel_token.is_set():
                flow.cancel(self._clock(), self._cancel_reason)
                return WorkerOutcome(WorkerEnd.CANCELLED, flow.result)
            with self._lost_lock:
                lost = self._lost
            if lost is not None:
                flow.source_ended(f"camera lost: {lost}", self._clock())
                return WorkerOutcome(WorkerEnd.CAMERA_LOST, flow.result)
            if self._run_actions():
                continue  # the actions may have finished the session or changed its stage
            frame = self.mailbox.get(self.tick_interval)
            if frame is not None:
                flow.push_frame(frame.image, frame.t, frame.seq)
            elif self.mailbox.closed:
                flow.source_ended("the camera feed was closed", self._clock())
                return WorkerOutcome(WorkerEnd.SOURCE_CLOSED, flow.result)
            else:
                flow.tick(self._clock())

    def _run_actions(self) -> bool:
        ran = False
        while self._actions and not self.flow.finished:
            action = self._actions.popleft()
            action(self.flow, self._clock())
            ran = True
        return ran

    def _failed(self, exc: Exception) -> WorkerOutcome:
        error = f"{type(exc).__name__}: {exc}"
        flow = self.flow
        if flow.failure is None:  # the flow announces its own internal failures
            self._forward(SessionFailed(error))
        if not flow.finished and flow.result is None:
            try:  # fail closed: the session row does not stay In Progress
                flow.source_ended(f"session worker failed: {error}", self._clock())
            except Exception:
                log.exception("ending the failed session failed")
        return WorkerOutcome(WorkerEnd.FAILED, flow.result, error)

    def _forward(self, event: FlowEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            log.exception("the on_event callback failed on %s", type(event).__name__)
