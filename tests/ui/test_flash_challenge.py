"""FLASHING sessions on the kiosk screen: the renderer draws the session's own plan full-screen,
logs each cue when it was presented (ScreenTimeline and PresentationLog), the camera's every
frame during the challenge goes into the recording, and the worker thread hands it to the flow.

The fake camera plays a face that does not answer the flash, so no session here is Approved; what
is checked is the timing check: it is decided on the presented times. A cue presented late
(injected lateness: the screen really shows it late) fails it; a skipped cue makes the log
refuse to become a recording. No assertion is on wall-clock speed: the on-time run's outcome is
compared with the durations the screen itself reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.capture.challenge import CUE_TOLERANCE_S
from app.capture.plan import ChallengePlan
from app.flow.events import ChallengePlanned
from app.ui import theme
from app.workflows import load_workflow
from assets import asset_path
from sync.vocabulary import SessionStatus
from tests.ui.conftest import WAIT_MS

FLASHING = asset_path("workflows", "flashing.json")
TIMING = "was shown for a different time"


def _run_flash(qtbot: Any, make_rig: Any, frames: list[np.ndarray],
               **window_kw: Any) -> tuple[Any, ChallengePlan, Any]:
    rig = make_rig(frames, workflow=load_workflow(FLASHING), **window_kw)
    w = rig.window
    plans: list[ChallengePlan] = []
    rig.booth.flow_event.connect(
        lambda e: plans.append(e.plan) if isinstance(e, ChallengePlanned) else None)
    seen: list[str] = []
    w.screen_changed.connect(seen.append)
    w.start_session()
    qtbot.waitUntil(lambda: w.current == "consent", timeout=WAIT_MS)
    assert "colours" in w.consent.flash_note.text()  # the person is told before consenting
    w.consent.answered.emit(True)
    qtbot.waitUntil(lambda: len(rig.outcomes) == 1, timeout=WAIT_MS)
    assert seen[:4] == ["consent", "capture", "challenge", "processing"]
    assert not rig.booth.tap.armed  # no frame is kept past the challenge
    return rig, plans[0], rig.outcomes[0].result


def _shown(rig: Any, plan: ChallengePlan) -> list[tuple[float, tuple[float, float, float]]]:
    states = rig.timeline.since(0.0)
    return [(s.t, s.rgb) for s in states]


def _durations(shown: list[tuple[float, Any]], n: int) -> list[float]:
    return [shown[k + 1][0] - shown[k][0] for k in range(n)]


def test_on_time_flash_is_judged_on_the_presented_times(qtbot: Any, make_rig: Any,
                                                        live_frames: list[np.ndarray]) -> None:
    rig, plan, result = _run_flash(qtbot, make_rig, live_frames)
    shown = _shown(rig, plan)
    n = len(plan.colours)
    assert [rgb for _, rgb in shown[:n]] == [c.rgb for c in plan.colours]
    assert shown[n][1] == theme.BACKGROUND_RGB  # the UI background comes back after the flash
    errors = [abs(d - (c.t_end - c.t_start)) for d, c in zip(_durations(shown, n), plan.colours,
                                                             strict=True)]
    verdict = result.verdict
    assert verdict.challenge is not None and verdict.challenge.nonce == plan.nonce.hex()
    assert "challenge capture failed" not in (verdict.reason or "")
    # the response check agrees with what the screen reported having shown
    assert (TIMING in (verdict.reason or "")) == (max(errors) > CUE_TOLERANCE_S)
    assert result.frames_read > 0


def test_a_late_flash_fails_the_timing_check(qtbot: Any, make_rig: Any,
                                             live_frames: list[np.ndarray]) -> None:
    late = 0.3  # cue 3 is presented 300 ms late: colour 2 stays on that much longer
    rig, plan, result = _run_flash(qtbot, make_rig, live_frames,
                                   flash_late=lambda i: late if i == 3 else 0.0)
    shown = _shown(rig, plan)
    durations = _durations(shown, len(plan.colours))
    planned = plan.colours[2].t_end - plan.colours[2].t_start
    # the screen really showed it late (cue 2 itself may have come a timer tick late too)
    assert durations[2] - planned >= late - 0.02
    verdict = result.verdict
    assert verdict.status is not SessionStatus.APPROVED
    assert f"colour 2 {TIMING}" in verdict.reason
    assert "CHECK_NOT_COMPLETED" in [str(c) for c in verdict.warnings]


@pytest.mark.parametrize("skipped", [0, 5])
def test_a_skipped_flash_is_refused(qtbot: Any, make_rig: Any, live_frames: list[np.ndarray],
                                    skipped: int) -> None:
    rig, plan, result = _run_flash(qtbot, make_rig, live_frames,
                                   flash_skip=frozenset({skipped}))
    shown = _shown(rig, plan)
    n = len(plan.colours)
    # the screen showed one colour fewer, then the UI background
    assert [rgb for _, rgb in shown[:n - 1]] == [c.rgb for i, c in enumerate(plan.colours)
                                                 if i != skipped]
    assert shown[n - 1][1] == theme.BACKGROUND_RGB
    verdict = result.verdict
    assert verdict.status is SessionStatus.ABANDONED
    assert "challenge capture failed" in verdict.reason
    assert "skipped" in verdict.reason or "where the plan has" in verdict.reason
