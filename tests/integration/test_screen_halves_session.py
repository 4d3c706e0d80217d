"""`active_liveness.screen_halves` end to end on the kiosk's session path: with it on, the
session (the default) draws the two-sided plan of its nonce and checks the answer against that
same plan; with it off the plan is whole-screen. An answer to the other kind of plan of the
same nonce is declined before any analysis. The real pipeline, challenge checks, encrypted
database and signer; the simulator stands in for the screen and camera (scratch key)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.capture.challenge import digest_of
from app.capture.plan import ChallengePlan, make_plan
from app.capture.recording import Recording
from app.flow.headless import run_session
from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk, liveness_for, open_kiosk
from app.lab.datasets import face3d_dir
from app.lab.simulation.flash.challenge_camera import SimulatedChallengeCamera
from app.workflows import Workflow, parse_workflow
from assets import asset_path
from sync.device_key import DeviceKey
from sync.vocabulary import SessionStatus

ASSETS = asset_path("workflows")
REFUSED = "challenge response refused"  # the flow's decline before any analysis


def _refused_on_colours(reason: str | None) -> bool:
    """Declined by the challenge check on the colours shown (their count or a colour)."""
    return REFUSED in (reason or "") and "colour" in (reason or "")


def _workflow(name: str) -> Workflow:
    return parse_workflow(json.loads((ASSETS / name).read_text()))


class _Answering:
    """Answers with the simulator; `halves` (when not None) answers that kind of plan of the
    session's nonce instead of the one the session asked for."""

    def __init__(self, inner: SimulatedChallengeCamera, halves: bool | None = None) -> None:
        self.inner, self.halves = inner, halves
        self.description, self.kind = inner.description, inner.kind
        self.asked: ChallengePlan | None = None
        self.last: Recording | None = None

    def capture(self, plan: ChallengePlan) -> Recording:
        self.asked = plan
        if self.halves is not None:
            plan = make_plan(plan.method, plan.nonce, halves=self.halves)
        self.last = self.inner.capture(plan)
        return self.last


@pytest.fixture(scope="module")
def face3d(data_dir: Path) -> Path:
    return face3d_dir(data_dir)


@pytest.fixture(scope="module")
def halves_kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    cfg = KioskConfig.model_validate({"active_liveness": {"screen_halves": True}})
    with open_kiosk(cfg, tmp_path_factory.mktemp("halves_home"),
                    workflow=_workflow("flashing.json"), db_key=bytes(range(32)),
                    scratch_key=DeviceKey.generate()) as kiosk:
        yield kiosk


def test_the_switch_picks_the_plan_the_session_draws_and_checks(halves_kiosk: Kiosk) -> None:
    nonce = bytes(range(16))
    on = halves_kiosk.config
    off = KioskConfig.model_validate({"active_liveness": {"screen_halves": False}})
    for name, method in (("flashing.json", "FLASHING"), ("active_3d.json", "ACTIVE_3D")):
        wf = _workflow(name)
        drawn = liveness_for(on, wf, halves_kiosk.pipeline).plan(nonce)
        assert drawn == make_plan(method, nonce, halves=True) and drawn.halves
        whole = liveness_for(off, wf, halves_kiosk.pipeline).plan(nonce)
        assert whole == make_plan(method, nonce) and not whole.halves


def test_a_session_answers_the_two_sided_plan(halves_kiosk: Kiosk, face3d: Path) -> None:
    cam = _Answering(SimulatedChallengeCamera(face3d, "live", split="tuning", seed=3))
    result = run_session(halves_kiosk.parts, _workflow("flashing.json"), cam, "halves-live",
                         nonce=bytes(range(16)))
    v = result.verdict
    assert cam.asked is not None and cam.asked.halves
    assert cam.asked == make_plan("FLASHING", bytes(range(16)), halves=True)
    assert cam.last is not None and all(c.rgb_right is not None for c in cam.last.colours[1:])
    # past the challenge check, bound into the verdict, and judged by the two-sided model
    assert REFUSED not in (v.reason or "")
    assert v.challenge is not None and v.challenge.response_digest == digest_of(cam.last)
    assert v.status is SessionStatus.APPROVED, (v.reason, v.liveness)


def test_a_whole_screen_answer_to_a_two_sided_session_is_declined(halves_kiosk: Kiosk,
                                                                  face3d: Path) -> None:
    cam = _Answering(SimulatedChallengeCamera(face3d, "live", split="tuning", seed=4),
                     halves=False)
    result = run_session(halves_kiosk.parts, _workflow("flashing.json"), cam, "halves-whole",
                         nonce=bytes(range(1, 17)))
    assert cam.asked is not None and cam.asked.halves
    assert result.verdict.status is SessionStatus.DECLINED
    assert _refused_on_colours(result.verdict.reason)
    assert not result.enrolled


def test_a_two_sided_answer_to_a_whole_screen_session_is_declined(
        halves_kiosk: Kiosk, face3d: Path, tmp_path: Path) -> None:
    wf = _workflow("flashing.json")
    whole = KioskConfig.model_validate({"active_liveness": {"screen_halves": False}})
    with open_kiosk(whole, tmp_path, workflow=wf, db_key=bytes(range(32)),
                    scratch_key=DeviceKey.generate(), pipeline=halves_kiosk.pipeline) as kiosk:
        cam = _Answering(SimulatedChallengeCamera(face3d, "live", split="tuning", seed=5),
                         halves=True)
        result = run_session(kiosk.parts, wf, cam, "whole-halves", nonce=bytes(range(2, 18)))
    assert cam.asked is not None and not cam.asked.halves
    assert result.verdict.status is SessionStatus.DECLINED
    assert _refused_on_colours(result.verdict.reason)
