"""Simulator settings, drawn from ranges with a seeded RNG, in two disjoint families.

`tuning` settings are the only ones calibration may see; `heldout` settings are for reporting.
Where a parameter splits the families its ranges do not overlap (see FAMILY_RANGES): JPEG quality,
halftone pitch, paper tint, screen pixel pitch, screen rotation, display gamma. Some ranges
interleave (tuning 0.75-0.95, 1.5-2.1 and 2.9-3.3 screen pixels per camera pixel, held-out
1.1-1.4, 2.2-2.8 and 3.4-4.0) so that held-out figures measure generalisation to unseen settings
inside the same broad domain; others are plainly disjoint (screen rotation, paper tint).
Everything else (light, pose, noise, lens) is drawn from one range for both families: it
describes the kiosk, not the attack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Split = Literal["tuning", "heldout"]
SPLITS: tuple[Split, ...] = ("tuning", "heldout")
Intervals = tuple[tuple[float, float], ...]

FAMILY_RANGES: dict[str, dict[Split, Intervals]] = {
    "jpeg_quality": {"tuning": ((62.0, 72.0), (84.0, 90.0)),
                     "heldout": ((73.0, 83.0), (91.0, 95.0))},
    "halftone_pitch": {"tuning": ((0.55, 0.75), (1.0, 1.2)), "heldout": ((0.35, 0.5), (0.8, 0.95))},
    "paper_tint_blue": {"tuning": ((0.90, 0.97),), "heldout": ((0.98, 1.04),)},
    "screen_pitch": {"tuning": ((0.75, 0.95), (1.5, 2.1), (2.9, 3.3)),
                     "heldout": ((1.1, 1.4), (2.2, 2.8), (3.4, 4.0))},
    "screen_rotation": {"tuning": ((0.0, 4.0),), "heldout": ((5.0, 12.0),)},
    "display_gamma": {"tuning": ((1.8, 2.05), (2.35, 2.5)), "heldout": ((2.1, 2.3), (2.55, 2.7))},
}


def draw(rng: np.random.Generator, intervals: Intervals) -> float:
    """Uniform over a union of intervals (weighted by length)."""
    lengths = np.array([hi - lo for lo, hi in intervals], float)
    i = int(rng.choice(len(intervals), p=lengths / lengths.sum()))
    lo, hi = intervals[i]
    return float(rng.uniform(lo, hi))


def family(rng: np.random.Generator, name: str, split: Split) -> float:
    return draw(rng, FAMILY_RANGES[name][split])


def u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def signed(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A magnitude in [lo, hi] with a random sign."""
    return float(rng.uniform(lo, hi) * rng.choice((-1.0, 1.0)))


@dataclass(frozen=True)
class CameraSettings:
    """The kiosk camera: optics, exposure, white balance, sensor noise, processing, JPEG."""

    lens_sigma: float  # Gaussian lens blur in sensor pixels
    ev_error: float  # auto-exposure error in stops
    flare: float  # veiling glare: share of the mean scene light added everywhere
    awb_strength: float  # 0 = no white balance, 1 = full grey world
    full_well: float  # electrons at white: sets shot noise
    read_noise: float  # read noise as a fraction of white
    sharpen: float  # unsharp-mask amount
    jpeg_quality: int


@dataclass(frozen=True)
class Framing:
    """Where the face lands in the output frame."""

    face_width: float  # pixels in the output frame
    dx: float  # face centre offset from the frame centre, pixels
    dy: float
    roll: float  # degrees


@dataclass(frozen=True)
class LiveSettings:
    framing: Framing
    gain: float  # scene illumination relative to nominal
    gradient: float  # strength of a directional light ramp across the face
    gradient_angle: float  # radians
    wb_red: float  # colour temperature of the room light (red and blue multipliers)
    wb_blue: float


@dataclass(frozen=True)
class MediumPlacement:
    """How the print or screen sits in front of the camera."""

    framing: Framing
    extent: float  # medium width in face widths (paper or screen size around the face)
    aspect: float  # medium height / width
    content_dx: float  # face position on the medium, fraction of the medium width from centre
    content_dy: float
    tilt_x: float  # degrees about the vertical axis (perspective)
    tilt_y: float  # degrees about the horizontal axis
    room_light: float  # illumination on the medium relative to nominal
    gradient: float
    gradient_angle: float
    wb_red: float
    wb_blue: float
    background: int  # index of the room background variant


@dataclass(frozen=True)
class PrintSettings:
    placement: MediumPlacement
    paper_white: float
    ink_black: float
    tint_red: float
    tint_blue: float
    saturation: float  # gamut shrink: 1 keeps chroma
    dot_gain: float  # tone curve exponent
    halftone_pitch: float  # halftone cell in camera pixels
    halftone_angle: float  # degrees of the first screen
    texture: float  # paper texture contrast
    margin: float  # white border as a fraction of the paper width
    bend: float  # cylinder bend, sagitta as a fraction of the paper width
    sheen: float  # glossy highlight strength


@dataclass(frozen=True)
class ReplaySettings:
    placement: MediumPlacement
    pitch: float  # screen pixels per camera pixel
    rotation: float  # degrees of the pixel grid against the sensor grid
    white_red: float  # white point: red and blue multipliers (cool screen: blue up)
    white_blue: float
    black_level: float  # emitted light for black as a fraction of white
    gamma: float  # display gamma (the content was encoded for 2.2)
    fill: float  # sub-pixel aperture across a pixel (1 = no gap)
    row_fill: float  # pixel aperture along the column
    emission: float  # screen luminance relative to the room light on the face
    glare: float  # peak of a reflected light source
    glare_size: float  # in face widths
    glare_x: float  # position on the screen, fraction from the centre
    glare_y: float
    reflection: float  # faint mirror image of the room
    bezel: float  # bezel width as a fraction of the screen width


def draw_camera(rng: np.random.Generator, split: Split) -> CameraSettings:
    return CameraSettings(
        lens_sigma=u(rng, 0.15, 0.7), ev_error=u(rng, -0.35, 0.35), flare=u(rng, 0.003, 0.02),
        awb_strength=u(rng, 0.4, 0.9),
        full_well=u(rng, 1500.0, 6000.0), read_noise=u(rng, 0.002, 0.008),
        sharpen=u(rng, 0.0, 1.0), jpeg_quality=round(family(rng, "jpeg_quality", split)))


def draw_framing(rng: np.random.Generator) -> Framing:
    return Framing(face_width=u(rng, 150.0, 250.0), dx=u(rng, -45.0, 45.0),
                   dy=u(rng, -30.0, 30.0), roll=u(rng, -8.0, 8.0))


def draw_live(rng: np.random.Generator) -> LiveSettings:
    return LiveSettings(
        framing=draw_framing(rng), gain=u(rng, 0.6, 1.5), gradient=u(rng, 0.0, 0.35),
        gradient_angle=u(rng, 0.0, 2 * np.pi), wb_red=u(rng, 0.85, 1.15),
        wb_blue=u(rng, 0.85, 1.15))


def _placement(rng: np.random.Generator, extent: tuple[float, float],
               aspect: tuple[float, float]) -> MediumPlacement:
    return MediumPlacement(
        framing=draw_framing(rng), extent=u(rng, *extent), aspect=u(rng, *aspect),
        content_dx=u(rng, -0.08, 0.08), content_dy=u(rng, -0.15, 0.05),
        tilt_x=signed(rng, 0.0, 18.0), tilt_y=signed(rng, 0.0, 15.0),
        room_light=u(rng, 0.6, 1.5), gradient=u(rng, 0.0, 0.2),
        gradient_angle=u(rng, 0.0, 2 * np.pi), wb_red=u(rng, 0.85, 1.15),
        wb_blue=u(rng, 0.85, 1.15), background=int(rng.integers(0, 1 << 30)))


def draw_print(rng: np.random.Generator, split: Split) -> PrintSettings:
    return PrintSettings(
        placement=_placement(rng, (2.2, 4.5), (1.2, 1.45)),
        paper_white=u(rng, 0.78, 0.92), ink_black=u(rng, 0.015, 0.10),
        tint_red=u(rng, 0.98, 1.02), tint_blue=family(rng, "paper_tint_blue", split),
        saturation=u(rng, 0.6, 0.88), dot_gain=u(rng, 1.05, 1.35),
        halftone_pitch=family(rng, "halftone_pitch", split), halftone_angle=u(rng, 0.0, 90.0),
        texture=u(rng, 0.01, 0.04), margin=u(rng, 0.0, 0.08), bend=u(rng, 0.0, 0.08),
        sheen=float(rng.uniform(0.0, 0.25) if rng.random() < 0.3 else 0.0))


def draw_replay(rng: np.random.Generator, split: Split) -> ReplaySettings:
    return ReplaySettings(
        placement=_placement(rng, (1.5, 3.5), (1.3, 2.1)),
        pitch=family(rng, "screen_pitch", split),
        rotation=float(family(rng, "screen_rotation", split) * rng.choice((-1.0, 1.0))),
        white_red=u(rng, 0.86, 0.97), white_blue=u(rng, 1.04, 1.22),
        black_level=u(rng, 0.003, 0.06), gamma=family(rng, "display_gamma", split),
        fill=u(rng, 0.6, 0.9), row_fill=u(rng, 0.7, 0.95), emission=u(rng, 0.7, 1.8),
        glare=float(rng.uniform(0.1, 0.6) if rng.random() < 0.6 else 0.0),
        glare_size=u(rng, 0.2, 0.8), glare_x=u(rng, -0.4, 0.4), glare_y=u(rng, -0.4, 0.4),
        reflection=u(rng, 0.0, 0.08), bezel=u(rng, 0.03, 0.1))
