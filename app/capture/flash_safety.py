"""Flash safety of what the kiosk screen shows: WCAG 2.2 success criterion 2.3.1 (Three Flashes or
Below Threshold), checked on the whole sequence of full-screen colours.

Pure (no Qt, no I/O). The kiosk screen fills far more than 25% of any 10 degree visual field, so
the area clause of the "general flash and red flash thresholds" never applies: a sequence passes
only if it has no more than three general flashes and no more than three red flashes in any
one-second period. Definitions, as WCAG 2.2 states them (glossary "general flash and red flash
thresholds" and "relative luminance"; Understanding SC 2.3.1):

- Relative luminance: the sRGB transfer with the 0.04045 threshold (WCAG's text since May 2021),
  then L = 0.2126 R + 0.7152 G + 0.0722 B. Screen drive values 0..1 are taken as sRGB.
- General flash: a pair of opposing changes in relative luminance of 10% or more of the maximum
  (1.0), where the darker of the two states is below 0.80. A transition is the change between
  adjacent peaks and valleys of L over time, so L is reduced to its alternating extrema with a
  0.10 hysteresis (a monotonic run of steps is one transition; a wiggle smaller than 0.10 is none).
- Red flash: a pair of opposing transitions involving a saturated red, under either working
  definition WCAG gives (a transition counts if either rule counts it, so the stricter wins):
  * WCAG 2.2 / ISO 9241-391: one of the two states has R/(R+G+B) >= 0.8 and the states are more
    than 0.2 apart in CIE 1976 u'v' chromaticity (XYZ from linear sRGB by the Understanding
    document's matrix). Black has no chromaticity (w3c/wcag#4285); it is given the D65 white
    point, i.e. read as achromatic, so red <-> black counts (distance 0.26).
    Chromaticity has no direction, so every change between consecutive shown states is its own
    transition (no merging of runs).
  * Harding-Binnie (WCAG 2.0-2.1 note, kept as a note in 2.2): the value (R-G-B) x 320 (negative
    set to 0) changes by more than 20 between adjacent extrema, and one of the two states has
    R/(R+G+B) >= 0.8.
  R, G, B there are the linear values of the relative-luminance definition (which also counts more
  colours as saturated red than the encoded values would: (1, .3, .3) is 0.87 linear).
- Counting: a flash is two transitions, so "no more than three flashes" is no more than six
  qualifying transitions with times in any half-open window [s, s + 1 s) (as in EA's IRIS,
  MaxTransitions = 6); a transition's time is when the screen reaches the peak or valley that
  ends it. A steady 3 Hz square wave (6 transitions a second) passes, 4 Hz fails.
- Two-sided plans (a cue's rgb_right: the screen's halves lit apart): each half is still far
  more than 25% of the visual field, so each half's own sequence must pass on its own, with the
  UI around it; the plan's report takes each rate (and its transitions) from the half where it
  is higher, and `half` names the worse half.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from app.capture.plan import ChallengePlan, make_plan

RGB = tuple[float, float, float]
Segment = tuple[float, float, RGB]  # t_start, t_end (seconds), screen drive 0..1 (sRGB)

GENERAL_STEP = 0.10  # change in relative luminance that makes a transition
DARKER_BELOW = 0.80  # the darker state of a general flash must be below this
SATURATED_RED = 0.8  # R / (R + G + B), linear
RED_HB_SCALE = 320.0  # (R - G - B) x 320
RED_HB_STEP = 20.0  # change of (R - G - B) x 320 that must be exceeded
RED_UV_STEP = 0.2  # u'v' chromaticity difference that must be exceeded
WINDOW_S = 1.0
MAX_FLASHES_PER_WINDOW = 3
_TIME_EPS = 1e-6  # transitions exactly one second apart are not in the same window

# The kiosk UI around the challenge (the positioning screen before it, the result or the action
# prompts after it), flat theme backgrounds; the kiosk draws one of them.
UI_DARK: RGB = (18 / 255, 18 / 255, 18 / 255)  # #121212
UI_LIGHT: RGB = (245 / 255, 245 / 255, 245 / 255)  # #F5F5F5
DEFAULT_UI = UI_DARK
UI_HOLD_S = 1.0  # how long the UI is modelled before and after the challenge (one window)

_XYZ = ((0.4124564, 0.3575761, 0.1804375),
        (0.2126729, 0.7151522, 0.0721750),
        (0.0193339, 0.1191920, 0.9503041))


@dataclass(frozen=True)
class FlashSafetyReport:
    ok: bool
    max_general_per_s: float  # general flashes (qualifying transitions / 2) in the worst window
    max_red_per_s: float  # red flashes in the worst window, the stricter of the two red rules
    worst_window_start: float  # start of the window with the most flashes (general or red)
    general_transitions: tuple[float, ...]  # times of the qualifying luminance transitions
    red_transitions: tuple[float, ...]  # times under the rule that gave max_red_per_s
    half: str | None = None  # two-sided plans: the half (left | right) this report is about


@dataclass(frozen=True)
class FlashSurvey:
    method: str
    plans: int
    unsafe: int
    max_general_per_s: float
    max_red_per_s: float
    worst_general_nonce: bytes
    worst_red_nonce: bytes


def linear(c: float) -> float:
    """sRGB drive 0..1 to linear light, WCAG 2.2's relative-luminance transfer."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: RGB) -> float:
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _red_ratio(lin: RGB) -> float:
    s = sum(lin)
    return lin[0] / s if s > 0 else 0.0


def _uv(lin: RGB) -> tuple[float, float]:
    x, y, z = (sum(m * c for m, c in zip(row, lin, strict=True)) for row in _XYZ)
    d = x + 15 * y + 3 * z
    if d <= 0:
        return _uv((1.0, 1.0, 1.0))  # black: read as achromatic (D65)
    return 4 * x / d, 9 * y / d


def _swings(values: Sequence[float], step: float) -> list[int]:
    """Indices of the alternating peaks and valleys of values, adjacent ones at least step apart
    (a zigzag: a reversal smaller than step does not end the current swing)."""
    if not values:
        return []
    pivots: list[int] = []
    trend = 0
    hi = lo = ext = 0
    for i in range(1, len(values)):
        v = values[i]
        if trend == 0:
            if v > values[hi]:
                hi = i
            if v < values[lo]:
                lo = i
            if values[hi] - values[lo] >= step:
                pivots.append(min(hi, lo))
                trend, ext = (1, hi) if hi > lo else (-1, lo)
        elif trend > 0:
            if v > values[ext]:
                ext = i
            elif values[ext] - v >= step:
                pivots.append(ext)
                trend, ext = -1, i
        else:
            if v < values[ext]:
                ext = i
            elif v - values[ext] >= step:
                pivots.append(ext)
                trend, ext = 1, i
    if trend != 0:
        pivots.append(ext)
    return pivots


def _worst_window(times: Sequence[float]) -> tuple[int, float]:
    """Most transitions in any half-open one-second window, and that window's start."""
    best, start = 0, times[0] if times else 0.0
    j = 0
    for i, t in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] - t < WINDOW_S - _TIME_EPS:
            j += 1
        if j - i > best:
            best, start = j - i, t
    return best, start


def _states(segments: Sequence[Segment]) -> tuple[list[float], list[RGB]]:
    """Validate contiguous segments; merge neighbours of one colour. Returns the start time and
    colour of each shown state."""
    if not segments:
        raise ValueError("empty sequence")
    starts: list[float] = []
    colours: list[RGB] = []
    prev_end: float | None = None
    for t0, t1, rgb in segments:
        if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
            raise ValueError(f"screen drive must be three values in 0..1, got {rgb!r}")
        if not t1 > t0:
            raise ValueError(f"segment ends before it starts: {t0} .. {t1}")
        if prev_end is not None and abs(t0 - prev_end) > 1e-6:
            raise ValueError(f"segments must be contiguous: a gap or overlap at {prev_end}")
        prev_end = t1
        rgb = (float(rgb[0]), float(rgb[1]), float(rgb[2]))
        if colours and colours[-1] == rgb:
            continue
        starts.append(float(t0))
        colours.append(rgb)
    return starts, colours


def check_sequence(segments: Sequence[Segment]) -> FlashSafetyReport:
    """WCAG 2.3.1 check of a full-screen colour sequence: contiguous (t_start, t_end, rgb)
    segments in time order, rgb the screen drive 0..1 (sRGB)."""
    starts, colours = _states(segments)
    lin = [(linear(r), linear(g), linear(b)) for r, g, b in colours]
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in lin]
    saturated = [_red_ratio(c) >= SATURATED_RED for c in lin]

    piv = _swings(lum, GENERAL_STEP)
    general = [starts[b] for a, b in zip(piv, piv[1:], strict=False)
               if min(lum[a], lum[b]) < DARKER_BELOW]

    redness = [RED_HB_SCALE * max(0.0, r - g - b) for r, g, b in lin]
    piv = _swings(redness, math.nextafter(RED_HB_STEP, math.inf))
    red_hb = [starts[b] for a, b in zip(piv, piv[1:], strict=False)
              if saturated[a] or saturated[b]]

    uv = [_uv(c) for c in lin]
    red_uv = [starts[i] for i in range(1, len(colours))
              if (saturated[i - 1] or saturated[i]) and math.dist(uv[i - 1], uv[i]) > RED_UV_STEP]

    n_gen, start_gen = _worst_window(general)
    (n_red, start_red), red = max(((_worst_window(red_uv), red_uv),
                                   (_worst_window(red_hb), red_hb)), key=lambda w: w[0][0])
    limit = 2 * MAX_FLASHES_PER_WINDOW
    return FlashSafetyReport(
        ok=n_gen <= limit and n_red <= limit,
        max_general_per_s=n_gen / 2,
        max_red_per_s=n_red / 2,
        worst_window_start=start_gen if n_gen >= n_red else start_red,
        general_transitions=tuple(general),
        red_transitions=tuple(red),
    )


def plan_segments(plan: ChallengePlan, before_rgb: RGB = DEFAULT_UI, after_rgb: RGB = DEFAULT_UI,
                  hold_s: float = UI_HOLD_S, half: str = "left") -> list[Segment]:
    """What the screen shows around a plan: the UI, the plan's colours, the UI again (an
    ACTIVE_3D plan's action prompts are drawn on the UI). half: which half of a two-sided
    plan (left | right); a whole-screen plan is the same on both."""
    if not plan.colours:
        raise ValueError("the plan has no colours")
    if half not in ("left", "right"):
        raise ValueError(f"half must be left or right, not {half!r}")
    first, last = plan.colours[0], plan.colours[-1]
    return ([(first.t_start - hold_s, first.t_start, before_rgb)]
            + [(c.t_start, c.t_end, c.left if half == "left" else c.right)
               for c in plan.colours]
            + [(last.t_end, last.t_end + hold_s, after_rgb)])


def _worse(a: FlashSafetyReport, b: FlashSafetyReport) -> FlashSafetyReport:
    """One report for two halves: unsafe if either is, the worst rates of either."""
    worst = max((a, b), key=lambda r: (not r.ok, max(r.max_general_per_s, r.max_red_per_s)))
    gen = a if a.max_general_per_s >= b.max_general_per_s else b
    red = a if a.max_red_per_s >= b.max_red_per_s else b
    return FlashSafetyReport(
        ok=a.ok and b.ok,
        max_general_per_s=gen.max_general_per_s,
        max_red_per_s=red.max_red_per_s,
        worst_window_start=worst.worst_window_start,
        general_transitions=gen.general_transitions,
        red_transitions=red.red_transitions,
        half=worst.half,
    )


def check_plan(plan: ChallengePlan, before_rgb: RGB = DEFAULT_UI,
               after_rgb: RGB = DEFAULT_UI) -> FlashSafetyReport:
    """WCAG 2.3.1 check of a challenge plan with the UI before and after it (each half of a
    two-sided plan on its own, the worse of the two reported)."""
    if not plan.halves:
        return check_sequence(plan_segments(plan, before_rgb, after_rgb))
    left, right = (replace(check_sequence(plan_segments(plan, before_rgb, after_rgb, half=h)),
                           half=h) for h in ("left", "right"))
    return _worse(left, right)


def survey(method: str, nonces: Iterable[bytes], before_rgb: RGB = DEFAULT_UI,
           after_rgb: RGB = DEFAULT_UI, *, halves: bool = False) -> FlashSurvey:
    """The worst case of check_plan over the plans of many nonces (two-sided plans: halves)."""
    n = unsafe = 0
    worst_gen, worst_red = -1.0, -1.0
    gen_nonce = red_nonce = b""
    for nonce in nonces:
        report = check_plan(make_plan(method, nonce, halves=halves), before_rgb, after_rgb)
        n += 1
        unsafe += not report.ok
        if report.max_general_per_s > worst_gen:
            worst_gen, gen_nonce = report.max_general_per_s, nonce
        if report.max_red_per_s > worst_red:
            worst_red, red_nonce = report.max_red_per_s, nonce
    return FlashSurvey(method, n, unsafe, max(worst_gen, 0.0), max(worst_red, 0.0),
                       gen_nonce, red_nonce)
