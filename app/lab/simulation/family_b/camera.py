"""Family B's webcam: rolling shutter, auto exposure and white balance that drift and chase the
scene, a Bayer mosaic with shot and read noise, demosaicing, a colour correction matrix, a tone
curve that is not quite sRGB, sharpening and MJPEG compression.

The rolling shutter is the caller's: it renders each row's light over that row's own exposure
window (`row_times`); this class turns the linear scene into the 8-bit frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.lab.simulation.family_b.settings import SettingsB

TARGET_GREY = 0.16  # linear level the auto exposure aims the frame's centre at


class RollingCamera:
    def __init__(self, s: SettingsB, rng: np.random.Generator, height: int) -> None:
        self.s = s
        self.rng = rng
        self.h = height
        self.gain = float(rng.uniform(0.9, 1.2))
        self.wb = np.exp(rng.normal(0.0, 0.04, 3))
        sat = s.saturation
        # Saturating colour correction: each channel minus a share of the others.
        off = (sat - 1.0) / 2.0
        self.ccm = np.full((3, 3), -off, np.float32) + np.eye(3, dtype=np.float32) * (1 + 2 * off)
        self._pending: tuple[float, np.ndarray] | None = None

    def row_times(self, t_frame: float) -> np.ndarray:
        """Centre of each row's exposure (the first row starts the frame)."""
        period = 1.0 / self.s.fps
        return t_frame + self.s.readout * period * np.arange(self.h) / self.h

    @property
    def exposure(self) -> float:
        return self.s.exposure / self.s.fps

    def shoot(self, scene_rgb: np.ndarray) -> np.ndarray:
        """scene_rgb: (H, W, 3) linear light; returns a BGR uint8 frame after MJPEG."""
        s, rng = self.s, self.rng
        img = scene_rgb * (self.gain * self.wb)[None, None, :].astype(np.float32)
        h, w = img.shape[:2]
        # Bayer RGGB: each photosite keeps one channel, with shot and read noise, 10 bits.
        mosaic = np.empty((h, w), np.float32)
        mosaic[0::2, 0::2] = img[0::2, 0::2, 0]
        mosaic[0::2, 1::2] = img[0::2, 1::2, 1]
        mosaic[1::2, 0::2] = img[1::2, 0::2, 1]
        mosaic[1::2, 1::2] = img[1::2, 1::2, 2]
        sd = np.sqrt(s.shot_noise * np.maximum(mosaic, 0.0) + s.read_noise ** 2)
        mosaic = mosaic + rng.standard_normal(mosaic.shape).astype(np.float32) * sd
        raw = np.clip(np.round(mosaic * 1023.0), 0, 1023).astype(np.uint16)
        # OpenCV names Bayer patterns from the second row: RGGB is its "BG".
        rgb = cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float32) / 1023.0
        rgb = np.clip(rgb @ self.ccm.T, 0.0, 1.0)
        self._meter(rgb)
        tone = rgb ** (1.0 / s.tone_gamma)
        blur = cv2.GaussianBlur(tone, (0, 0), 1.0)
        tone = np.clip(tone + s.sharpen * (tone - blur), 0.0, 1.0)
        bgr = np.round(tone[..., ::-1] * 255.0).astype(np.uint8)
        ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(s.jpeg)])
        if not ok:
            raise RuntimeError("MJPEG encoding failed")
        frame = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
        if frame is None:
            raise RuntimeError("MJPEG decoding failed")
        return np.asarray(frame, np.uint8)

    def _meter(self, rgb: np.ndarray) -> None:
        """Auto exposure on the centre's mean and grey-world white balance, applied one frame
        late (the sensor's settings change between frames), plus a random drift."""
        s, rng = self.s, self.rng
        h, w = rgb.shape[:2]
        centre = rgb[h // 4:3 * h // 4, w // 4:3 * w // 4].reshape(-1, 3).mean(0)
        luma = float(centre @ np.array([0.25, 0.5, 0.25]))
        err = np.log(TARGET_GREY / max(luma, 1e-4))
        self.gain *= float(np.exp(s.ae_react * err + rng.normal(0.0, s.ae_drift)))
        means = rgb.reshape(-1, 3).mean(0)
        grey = np.log(np.maximum(means[1], 1e-4) / np.maximum(means, 1e-4))
        self.wb = self.wb * np.exp(s.awb_react * grey + rng.normal(0.0, s.ae_drift / 2, 3))
        self.wb = self.wb / self.wb[1]
