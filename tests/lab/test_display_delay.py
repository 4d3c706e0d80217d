"""The calibrated display delay, on a rendered FLASHING answer.

The simulator's recording carries the cue times at which its camera saw each colour (no delay
between the screen and the camera). A real booth's screen reports a colour as presented right
after the buffer swap, but the light only reaches the camera later (scan-out, the panel's
response, the camera's exposure and readout): the camera sees each colour some 80 ms AFTER its
recorded presented time. To build such a recording, the copy below keeps every frame and its
time and moves every cue 80 ms EARLIER: its "presented" times now precede what the camera saw
by 80 ms. The analyzer, timing the face's answer against those cues, finds the answer late by
0.08 s * fps (2.4 frames at 30 fps), reads it as lag (a re-tinting replay lags like that) and
declines. With display_delay_s = 0.08, `to_input` moves the cues 80 ms later again before the
analyzer sees them, and the face is approved; the recording (and its digest) keeps the
presented times.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.capture.analyze import analyze_recording
from app.capture.challenge import ChallengeConfig, digest_of
from app.capture.plan import make_plan
from app.capture.recording import Recording
from app.kiosk.config import KioskConfig
from app.kiosk.root import active_analyzer
from app.lab.cli.common import face_scan_folder
from app.lab.simulation.flash.challenge_camera import SimulatedChallengeCamera
from inference.pipeline import FacePipeline

DELAY_S = 0.08
NONCE = bytes.fromhex("5f1c0a9b7e3d2c4488aa11bb22cc33dd")


def _presented_earlier(rec: Recording, delay: float) -> Recording:
    """The same frames, the cues recorded `delay` before the camera saw them."""
    cols = tuple(replace(c, t_start=c.t_start - delay, t_end=c.t_end - delay)
                 for c in rec.colours)
    acts = tuple(replace(a, t_start=a.t_start - delay, t_end=a.t_end - delay)
                 for a in rec.actions)
    return replace(rec, colours=cols, actions=acts)


@pytest.fixture(scope="module")
def rendered() -> Recording:
    return SimulatedChallengeCamera(face_scan_folder(), "live", seed=3).capture(
        make_plan("FLASHING", NONCE))


def test_calibrated_display_delay_turns_a_lagging_answer_back_into_a_live_one(
        rendered: Recording, face_pipeline: FacePipeline) -> None:
    liveness = active_analyzer(KioskConfig(), face_pipeline)
    delayed = _presented_earlier(rendered, DELAY_S)
    configured = ChallengeConfig(display_delay_s=DELAY_S)

    as_rendered = analyze_recording(liveness, rendered)
    without = analyze_recording(liveness, delayed)
    with_delay = analyze_recording(liveness, delayed, configured.display_delay_s)
    # measured (seed 3, 30 fps): rendered Approved, lag 0.0; cues 80 ms early without the delay
    # Declined, lag 2.5 frames; with display_delay_s 0.08 Approved, lag 0.0

    assert as_rendered.status == "Approved", as_rendered.figures
    # without the delay the answer comes 0.08 s * fps late: lag, declined
    assert without.status != "Approved", without.figures
    assert without.figures["flash"]["lag_frames"] > 0.75
    assert abs(without.figures["flash"]["lag_frames"] - DELAY_S * rendered.fps) <= 0.75
    # with the calibrated delay it is on time again and approved
    assert with_delay.status == "Approved", with_delay.figures
    assert abs(with_delay.figures["flash"]["lag_frames"]) <= 0.75
    # the recording still binds the presented times: its digest is its own, not the render's
    assert digest_of(delayed) != digest_of(rendered)


def test_zero_delay_is_bit_identical(rendered: Recording,
                                     face_pipeline: FacePipeline) -> None:
    liveness = active_analyzer(KioskConfig(), face_pipeline)
    default = analyze_recording(liveness, rendered)
    zero = analyze_recording(liveness, rendered, ChallengeConfig().display_delay_s)
    strip = ("analysis_ms",)
    a = {k: v for k, v in default.to_dict()["figures"].items() if k not in strip}
    b = {k: v for k, v in zero.to_dict()["figures"].items() if k not in strip}
    assert a == b and default.status == zero.status and default.score == zero.score
