"""The kiosk camera, applied identically to live scenes and to attacks.

Lens blur at scene resolution, pixel-aperture resampling (box average of OVERSAMPLE x OVERSAMPLE
scene samples: this is where a screen grid or a halftone aliases into moire), veiling glare, auto
exposure metered on the face, partial grey-world white balance, an RGGB Bayer mosaic with shot
and read noise, demosaicing, sRGB encoding, sharpening and JPEG. Without this shared path a
detector would learn "went through the simulator" instead of "is an attack".
"""

from __future__ import annotations

import cv2
import numpy as np

from app.lab.simulation.scene import F32, OVERSAMPLE, linear_to_srgb
from app.lab.simulation.settings import CameraSettings

_AE_TARGET = 0.20  # linear mean of the metered face region (about 118 in sRGB)


def capture(scene: F32, face_box: tuple[float, ...], cam: CameraSettings,
            rng: np.random.Generator) -> np.ndarray:
    """Photograph an oversampled linear-RGB scene; returns the BGR uint8 frame."""
    sh, sw = scene.shape[:2]
    out_w, out_h = sw // OVERSAMPLE, sh // OVERSAMPLE
    blurred = cv2.GaussianBlur(scene, (0, 0), cam.lens_sigma * OVERSAMPLE)
    img = cv2.resize(blurred, (out_w, out_h), interpolation=cv2.INTER_AREA)
    # Veiling glare: light scattered inside the lens lifts the blacks of every frame alike.
    img = img + cam.flare * img.reshape(-1, 3).mean(axis=0)

    # Auto exposure on the central part of the face, with a random metering error.
    x1, y1, x2, y2 = (int(round(v)) for v in face_box[:4])
    cx1, cy1 = max(0, x1 + (x2 - x1) // 4), max(0, y1 + (y2 - y1) // 4)
    cx2, cy2 = min(out_w, x2 - (x2 - x1) // 4), min(out_h, y2 - (y2 - y1) // 4)
    meter = img[cy1:cy2, cx1:cx2] if cx2 > cx1 and cy2 > cy1 else img
    lum = float(np.mean(meter @ np.array([0.2126, 0.7152, 0.0722], np.float32)))
    gain = _AE_TARGET / max(lum, 1e-4) * 2.0 ** cam.ev_error
    img = img * gain

    # Partial grey-world white balance over the frame.
    means = img.reshape(-1, 3).mean(axis=0)
    wb = (means.mean() / np.maximum(means, 1e-4)) ** cam.awb_strength
    img = img * wb.astype(np.float32)

    raw = _mosaic(np.clip(img, 0.0, 1.0))
    # Shot noise grows with the exposure gain (fewer photons behind each digital value).
    electrons = cam.full_well / max(gain, 0.25)
    noise_sd = np.sqrt(raw / electrons + cam.read_noise ** 2)
    raw = raw + rng.standard_normal(raw.shape).astype(np.float32) * noise_sd.astype(np.float32)
    raw16 = (np.clip(raw, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    bgr_lin = cv2.cvtColor(raw16, cv2.COLOR_BayerRGGB2BGR_EA).astype(np.float32) / 65535.0

    bgr = linear_to_srgb(bgr_lin)
    if cam.sharpen > 0:
        soft = cv2.GaussianBlur(bgr, (0, 0), 1.0)
        bgr = bgr + cam.sharpen * (bgr - soft)
    u8 = (np.clip(bgr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(cam.jpeg_quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if out is None:
        raise RuntimeError("JPEG decoding failed")
    decoded: np.ndarray = out
    return decoded


def _mosaic(rgb: F32) -> F32:
    """Keep one colour per pixel in an RGGB pattern."""
    raw = np.empty(rgb.shape[:2], np.float32)
    raw[0::2, 0::2] = rgb[0::2, 0::2, 0]
    raw[0::2, 1::2] = rgb[0::2, 1::2, 1]
    raw[1::2, 0::2] = rgb[1::2, 0::2, 1]
    raw[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return raw
