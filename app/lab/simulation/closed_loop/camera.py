"""ClosedLoopCamera: the Capture protocol of app/capture/camera_thread.py over the simulator.

Real time: frames come on a fixed frame clock at `fps`. For frame k, handed over at D_k (the
camera thread stamps it with time.monotonic() right after read() returns), the exposure is
centred on t_exp = D_k - camera delay. read() sleeps until that exposure has ended (so the
screen's light over it is on the timeline), renders the frame, then sleeps until D_k: the
stamp lags the exposure by the camera delay whenever a render fits in its budget (camera
delay - exposure / 2). The light is what the screen presented a display delay before the
exposure (scan-out and panel response; plus the settings' residual clock error `latency`),
integrated over the exposure. A camera that falls behind (a render slower than a frame, a busy
machine) drops the frames it missed, as a camera's frame clock does, and counts them.

A two-sided flash cue gives the light as (2, 3) [left, right] (screen_light.py); it is handed
to the actors as is.

The light reaches the face `delays.total` after the screen reports a colour presented: that is
what `poh kiosk calibrate` measures on a booth and what the challenge configuration's
display_delay_s must hold for the analysis to time the answer right.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.capture.screen_timeline import ScreenTimeline
from app.lab.simulation.closed_loop.follower import PromptFollower
from app.lab.simulation.closed_loop.screen_light import presented_light
from app.lab.simulation.flash.actors import AttackActor, LiveActor
from app.lab.simulation.flash.face_scene import FaceScene, SimCamera, wall_light
from app.lab.simulation.flash.settings import SimSettings
from sync.vocabulary import CaptureKind

log = logging.getLogger(__name__)

DEFAULT_FPS = 15.0
AE_HISTORY_S = 3.0  # the settings' exposure chase averages the last few seconds of brightness
# The camera's own slow auto exposure, metered centre-weighted (where the face is), so that a
# face lit only by the room in front of the kiosk's dark UI is exposed like a webcam exposes
# it. It converges on the first frame, then follows with this time constant: slow against a
# flash of 200-300 ms colours (the settings' faster chase, SimCamera, stays on top of it).
AE_TARGET = 0.17  # linear mean of the frame's centre (sRGB about 115)
AE_TAU_S = 1.5
AE_MAX_GAIN = 8.0
RENDER_LOG = 512  # render times kept for the benchmark figures


@dataclass(frozen=True)
class Delays:
    """camera_s: exposure centre to the frame handed over; display_s: presented (after the
    buffer swap) to the light leaving the panel."""

    camera_s: float = 0.080
    display_s: float = 0.030

    def __post_init__(self) -> None:
        if not (0.0 <= self.camera_s <= 0.5 and 0.0 <= self.display_s <= 0.5):
            raise ValueError("delays must lie in 0..0.5 s")

    @property
    def total(self) -> float:
        """Presented to seen by the camera (the calibrated display_delay_s)."""
        return self.camera_s + self.display_s


class ClosedLoopCamera:
    """One simulated camera with one person (or attack) in front of the kiosk's screen."""

    kind = CaptureKind.SIMULATION

    def __init__(self, scene: FaceScene, species: str, timeline: ScreenTimeline,
                 settings: SimSettings, rng: np.random.Generator, *, fps: float = DEFAULT_FPS,
                 delays: Delays | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        if not 1.0 <= fps <= 60.0:
            raise ValueError("fps must lie in 1..60")
        self.species = species
        self.settings = settings
        self.fps = float(fps)
        self.delays = delays or Delays()
        self.description = f"closed-loop simulated {species} face (3D scan)"
        self._scene = scene
        self._timeline = timeline
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._open = True
        self._next: float | None = None
        self.exposure = float(rng.uniform(0.5, 1.0)) / self.fps
        self._cam = SimCamera(settings, rng, history_limit=max(3, int(AE_HISTORY_S * self.fps)))
        self._follower = PromptFollower(timeline, self.delays.display_s, rng)
        self._live: LiveActor | None = None
        self._attack: AttackActor | None = None
        # The wall behind is lit by the same room-light model as the face. The evaluation's wall
        # has a fixed level; with a high room light and only the kiosk's dark UI in front, the
        # face would then read darker than the wall behind it (BACKLIT).
        wall = wall_light(settings.ambient_elev)
        if species == "live":
            self._live = LiveActor(scene, settings, rng, wall)
        else:
            self._attack = AttackActor(scene, species, settings, rng, wall)
        self._lights: deque[np.ndarray] = deque(maxlen=3)
        self._log_gain: float | None = None  # the slow auto exposure's gain (log)
        self.frames_read = 0
        self.frames_dropped = 0
        self.render_s: deque[float] = deque(maxlen=RENDER_LOG)
        self.late_s: deque[float] = deque(maxlen=RENDER_LOG)  # hand-over after D_k, when late

    # ---- the Capture protocol ----------------------------------------------------------------
    def isOpened(self) -> bool:  # OpenCV's name
        return self._open

    def release(self) -> None:
        self._open = False

    def read(self) -> tuple[bool, Any]:
        if not self._open:
            return False, None
        with self._lock:  # one reader at a time: the frame clock and the actors are stateful
            return True, self._next_frame()

    # ---- internals ---------------------------------------------------------------------------
    def _next_frame(self) -> np.ndarray:
        period = 1.0 / self.fps
        now = self._clock()
        if self._next is None:
            self._next = now + self.delays.camera_s  # the first exposure starts now
        deliver = self._next
        if now > deliver:  # fell behind: the frames whose hand-over passed are lost
            missed = math.ceil((now - deliver) / period)
            deliver += missed * period
            self.frames_dropped += missed
        self._next = deliver + period
        t_exp = deliver - self.delays.camera_s
        self._sleep_until(t_exp + self.exposure / 2)
        t0 = self._clock()
        frame = self.render(t_exp)
        done = self._clock()
        self.render_s.append(done - t0)
        if done > deliver:
            self.late_s.append(done - deliver)
        self._sleep_until(deliver)
        self.frames_read += 1
        return frame

    def _sleep_until(self, t: float) -> None:
        wait = t - self._clock()
        if wait > 0:
            self._sleep(wait)

    def render(self, t_exp: float) -> np.ndarray:
        """The frame exposed around t_exp (BGR uint8)."""
        s, e = self.settings, self.exposure
        t_light = t_exp - self.delays.display_s + s.latency
        light = presented_light(self._timeline, t_light - e / 2, t_light + e / 2)
        self._lights.append(light)
        self._follower.update(t_exp)
        if self._live is not None:
            yaw, pitch, blink, smile = self._follower.pose(t_exp, e, s.turn)
            lin = self._live.linear(light, yaw, pitch, blink, smile)
        else:
            attack = self._attack
            if attack is None:
                raise RuntimeError("the camera has neither a person nor an attack")
            lagged = self._lights[max(0, len(self._lights) - 1 - attack.lag)]
            yaw = (self._follower.photo_yaw(t_exp, s.turn) if attack.species == "moved_photo"
                   else 0.0)
            lin = attack.linear(light, lagged, yaw)
        return self._cam.shoot(self._auto_exposure(lin))

    def _auto_exposure(self, lin: np.ndarray) -> np.ndarray:
        h, w = lin.shape[:2]
        metered = max(float(lin[h // 4:3 * h // 4, w // 4:3 * w // 4].mean()), 1e-4)
        want = float(np.clip(np.log(AE_TARGET / metered), -np.log(AE_MAX_GAIN),
                             np.log(AE_MAX_GAIN)))
        if self._log_gain is None:
            self._log_gain = want
        else:
            self._log_gain += (1.0 - math.exp(-1.0 / (self.fps * AE_TAU_S))) * (
                want - self._log_gain)
        out: np.ndarray = lin * np.float32(math.exp(self._log_gain))
        return out

    def figures(self) -> dict[str, float]:
        """Render time per frame (ms, median and p95), frames read and dropped, and the frames
        handed over after their frame clock's time (a render over its budget) and by how much."""
        r = np.asarray(self.render_s, np.float64) * 1000.0
        late = np.asarray(self.late_s, np.float64) * 1000.0
        return {"fps": self.fps, "frames_read": float(self.frames_read),
                "frames_dropped": float(self.frames_dropped),
                "render_ms_median": float(np.median(r)) if r.size else math.nan,
                "render_ms_p95": float(np.percentile(r, 95)) if r.size else math.nan,
                "late_frames": float(len(self.late_s)),
                "late_ms_median": float(np.median(late)) if late.size else 0.0,
                "late_ms_max": float(late.max()) if late.size else 0.0}
