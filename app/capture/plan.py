"""Challenge plans: what the kiosk screen draws, derived deterministically from a CSPRNG nonce.

The nonce is drawn with secrets.token_bytes; every choice after that comes from SHAKE-256 of the
nonce, so a plan can be recomputed from the nonce stored with the verdict (and an attacker who
does not know the nonce in advance cannot precompute the answer).
"""

from __future__ import annotations

import colorsys
import hashlib
import secrets
from dataclasses import dataclass

ACTIONS = ("TURN_LEFT", "TURN_RIGHT", "LOOK_UP", "BLINK", "SMILE")
NEUTRAL = (0.5, 0.5, 0.5)
LEAD_IN_S = 0.5
MIN_CHROMA_STEP = 0.35  # minimum rg-chromaticity distance between consecutive colours
# Each colour is shown 200-300 ms: at most five screen changes in any second, so at most five
# luminance or red transitions (2.5 flashes) and WCAG 2.3.1's limit of three flashes a second
# holds whatever the colours and the UI around them, even if every colour is shown up to 30 ms
# short (app/capture/flash_safety.py checks it). 150 ms let one plan in 10,000 reach 3.5.
MIN_CUE_S = 0.200
MAX_CUE_S = 0.300
ACTION_WINDOW_S = 1.5
ACTION_GAP_S = 0.3


@dataclass(frozen=True)
class ColourCue:
    t_start: float
    t_end: float
    rgb: tuple[float, float, float]  # screen drive 0..1


@dataclass(frozen=True)
class ActionCue:
    t_start: float
    t_end: float
    action: str


@dataclass(frozen=True)
class ChallengePlan:
    method: str  # FLASHING | ACTIVE_3D
    nonce: bytes
    colours: tuple[ColourCue, ...]  # times relative to the start of the challenge
    actions: tuple[ActionCue, ...]

    @property
    def duration(self) -> float:
        ends = [c.t_end for c in self.colours] + [a.t_end for a in self.actions]
        return max(ends) if ends else 0.0


def new_nonce() -> bytes:
    return secrets.token_bytes(16)


class _Stream:
    """Deterministic uniform numbers from SHAKE-256(label || nonce)."""

    def __init__(self, nonce: bytes, label: bytes) -> None:
        self._buf = hashlib.shake_256(label + b"\x00" + nonce).digest(4096)
        self._i = 0

    def uniform(self) -> float:
        if self._i + 4 > len(self._buf):
            raise RuntimeError("challenge stream exhausted")
        v = int.from_bytes(self._buf[self._i:self._i + 4], "big")
        self._i += 4
        return v / 2 ** 32

    def integer(self, lo: int, hi: int) -> int:
        """Uniform in [lo, hi] inclusive."""
        return lo + min(int(self.uniform() * (hi - lo + 1)), hi - lo)


def chromaticity(rgb: tuple[float, float, float]) -> tuple[float, float]:
    s = sum(rgb) or 1.0
    return rgb[0] / s, rgb[1] / s


def chroma_distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    (r1, g1), (r2, g2) = chromaticity(a), chromaticity(b)
    return float(((r1 - r2) ** 2 + (g1 - g2) ** 2) ** 0.5)


def flash_colours(nonce: bytes, t0: float = 0.0) -> tuple[ColourCue, ...]:
    """Neutral lead-in, then 8-12 saturated colours 200-300 ms each, consecutive ones far apart
    in chromaticity (and never a repeat of the previous hue)."""
    s = _Stream(nonce, b"poh-flash-v1")
    cues = [ColourCue(t0, t0 + LEAD_IN_S, NEUTRAL)]
    t = t0 + LEAD_IN_S
    prev = NEUTRAL
    for _ in range(s.integer(8, 12)):
        for _attempt in range(64):
            hue = s.uniform()
            r, g, b = colorsys.hsv_to_rgb(hue, 1.0, 1.0)
            rgb = (round(r, 4), round(g, 4), round(b, 4))
            if chroma_distance(rgb, prev) >= MIN_CHROMA_STEP:
                break
        else:
            raise RuntimeError("could not draw a well separated colour")
        dur = MIN_CUE_S + (MAX_CUE_S - MIN_CUE_S) * s.uniform()
        cues.append(ColourCue(round(t, 4), round(t + dur, 4), rgb))
        t += dur
        prev = rgb
    return tuple(cues)


def make_plan(method: str, nonce: bytes) -> ChallengePlan:
    if method == "FLASHING":
        return ChallengePlan(method, nonce, flash_colours(nonce), ())
    if method != "ACTIVE_3D":
        raise ValueError(f"no active challenge for method {method!r}")
    colours = flash_colours(nonce)
    s = _Stream(nonce, b"poh-actions-v1")
    first = ACTIONS[s.integer(0, len(ACTIONS) - 1)]
    rest = [a for a in ACTIONS if a != first]
    second = rest[s.integer(0, len(rest) - 1)]
    t = colours[-1].t_end + ACTION_GAP_S
    acts = []
    for a in (first, second):
        acts.append(ActionCue(round(t, 4), round(t + ACTION_WINDOW_S, 4), a))
        t += ACTION_WINDOW_S + ACTION_GAP_S
    return ChallengePlan(method, nonce, colours, tuple(acts))
