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
    rgb: tuple[float, float, float]  # screen drive 0..1: the whole screen, or its left half
    # The right half's drive when the two halves differ (halves as the person facing the screen
    # sees them); None: the whole screen shows rgb. Two lights from either side make a face's
    # left and right cheeks answer differently, a flat sheet alike (docs/accuracy.md).
    rgb_right: tuple[float, float, float] | None = None

    @property
    def left(self) -> tuple[float, float, float]:
        return self.rgb

    @property
    def right(self) -> tuple[float, float, float]:
        return self.rgb if self.rgb_right is None else self.rgb_right


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
    def halves(self) -> bool:
        """Whether some colour lights the screen's halves differently."""
        return any(c.rgb_right is not None for c in self.colours)

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


def _saturated(s: _Stream, *far_from: tuple[float, float, float]) -> tuple[float, float, float]:
    """A full-saturation colour at least MIN_CHROMA_STEP from each of far_from."""
    for _attempt in range(64):
        r, g, b = colorsys.hsv_to_rgb(s.uniform(), 1.0, 1.0)
        rgb = (round(r, 4), round(g, 4), round(b, 4))
        if all(chroma_distance(rgb, o) >= MIN_CHROMA_STEP for o in far_from):
            return rgb
    raise RuntimeError("could not draw a well separated colour")


def flash_colours(nonce: bytes, t0: float = 0.0, halves: bool = False) -> tuple[ColourCue, ...]:
    """Neutral lead-in, then 8-12 saturated colours 200-300 ms each, consecutive ones far apart
    in chromaticity (and never a repeat of the previous hue).

    halves: the screen's right half shows its own colour, far from the left half's and from its
    own previous one (a stream of its own: the whole-screen plans of a nonce are unchanged)."""
    s = _Stream(nonce, b"poh-flash-halves-v1" if halves else b"poh-flash-v1")
    cues = [ColourCue(t0, t0 + LEAD_IN_S, NEUTRAL)]
    t = t0 + LEAD_IN_S
    prev, prev_right = NEUTRAL, NEUTRAL
    for _ in range(s.integer(8, 12)):
        rgb = _saturated(s, prev)
        right = _saturated(s, rgb, prev_right) if halves else None
        dur = MIN_CUE_S + (MAX_CUE_S - MIN_CUE_S) * s.uniform()
        cues.append(ColourCue(round(t, 4), round(t + dur, 4), rgb, right))
        t += dur
        prev = rgb
        prev_right = right or rgb
    return tuple(cues)


def make_plan(method: str, nonce: bytes, halves: bool = False) -> ChallengePlan:
    if method == "FLASHING":
        return ChallengePlan(method, nonce, flash_colours(nonce, halves=halves), ())
    if method != "ACTIVE_3D":
        raise ValueError(f"no active challenge for method {method!r}")
    colours = flash_colours(nonce, halves=halves)
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
