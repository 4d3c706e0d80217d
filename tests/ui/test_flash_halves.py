"""The flash renderer paints a two-sided cue as two halves split at the widget's vertical centre
line (the person's left on the left), a whole-screen cue over the whole widget, and tells the
timeline both halves' drives. The renderer runs on an injected clock: each step is applied when
the test moves the clock, never on wall-clock speed; the widget is grabbed offscreen."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QImage

from app.capture.plan import ChallengePlan, ColourCue
from app.capture.presentation import PresentationLog, cues_as_presented
from app.capture.screen_timeline import Rgb, ScreenTimeline
from app.ui import theme
from app.ui.flash import FlashRenderer
from app.ui.i18n import Translator

RED: Rgb = (1.0, 0.0, 0.0)
BLUE: Rgb = (0.0, 0.0, 1.0)
GREEN: Rgb = (0.0, 1.0, 0.0)
WAIT_MS = 10_000  # a bound for a hung test
W, H = 201, 120  # an odd width: the middle column belongs to the right half


def _pixel(img: QImage, x: int, y: int) -> Rgb:
    c = img.pixelColor(x, y)
    return (round(c.redF(), 2), round(c.greenF(), 2), round(c.blueF(), 2))


def test_a_two_sided_cue_paints_two_halves_and_a_whole_cue_the_widget(qtbot: Any) -> None:
    now = [100.0]
    timeline = ScreenTimeline(theme.BACKGROUND_RGB)
    r = FlashRenderer(Translator("en"), timeline, clock=lambda: now[0])
    qtbot.addWidget(r)
    r.resize(W, H)
    r.show()
    qtbot.waitExposed(r)
    plan = ChallengePlan("FLASHING", bytes(16), (ColourCue(0.0, 0.05, RED, BLUE),
                                                 ColourCue(0.05, 0.1, GREEN)), ())
    plog = PresentationLog()
    r.play(plan, plog)  # the first cue is due at once: presented before play() returns

    img = r.grab().toImage()
    assert (img.width(), img.height()) == (W, H)
    for y in (0, H // 2, H - 1):
        assert _pixel(img, 0, y) == _pixel(img, W // 2 - 1, y) == RED
        assert _pixel(img, W // 2, y) == _pixel(img, W - 1, y) == BLUE
    state = timeline.at(now[0])
    assert (state.rgb, state.rgb_right, state.action) == (RED, BLUE, None)

    now[0] += 0.05  # the second cue's time
    qtbot.waitUntil(lambda: timeline.at(now[0]).rgb == GREEN, timeout=WAIT_MS)
    img = r.grab().toImage()
    assert {_pixel(img, x, H // 2) for x in (0, W // 2 - 1, W // 2, W - 1)} == {GREEN}
    assert timeline.at(now[0]).rgb_right is None

    now[0] += 0.05
    qtbot.waitUntil(lambda: not r.playing, timeout=WAIT_MS)
    back = timeline.at(now[0])
    assert back.rgb == theme.BACKGROUND_RGB and back.rgb_right is None
    cols, _ = cues_as_presented(plan, plog)
    assert [c.rgb_right for c in cols] == [BLUE, None]
    img = r.grab().toImage()
    ui = tuple(round(c, 2) for c in theme.BACKGROUND_RGB)
    assert _pixel(img, 0, 0) == _pixel(img, W - 1, 0) == ui
