"""The session part of `poh demo`: three whole sessions on clips made from real portraits.

A live person (Approved, credential issued, enrolled), the same person again from another photo
(In Review as a duplicate), and a simulated print of the first person (Declined as an attack).
It runs on a scratch database and a scratch device key in the demo folder, rebuilt every time,
so that the demo always starts from an empty gallery and never touches the kiosk's own data.
The verdict files and the demo device's public key are left there for `poh verdict verify`.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.capture.challenge import ChallengeCamera, StoredRecordingCamera
from app.capture.frames import FrameSource, open_source
from app.capture.plan import make_plan
from app.capture.recording import write_recording
from app.flow.headless import run_session
from app.kiosk.config import KioskConfig, load_config
from app.kiosk.root import open_kiosk
from app.lab.demo_clips import make_demo_clips
from app.lab.simulation.flash.challenge_camera import SimulatedChallengeCamera
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, Workflow, load_workflow
from inference.pipeline import FacePipeline
from storage.durable import make_private_dir
from sync.device_key import DeviceKey

log = logging.getLogger(__name__)

CASES = (("live", "demo-person-1", "Approved"),
         ("again", "demo-person-2", "In Review"),
         ("print", "demo-attacker", "Declined"))


Source = FrameSource | ChallengeCamera


def session_demo(colour_dir: Path, out_dir: Path, say: Callable[[str], None],
                 workflow: Workflow | None = None, pipeline: FacePipeline | None = None
                 ) -> list[dict[str, Any]]:
    wf = workflow or load_workflow(DEFAULT_WORKFLOW)
    say("making sample clips from real portraits (live, same person again, simulated print)")
    clips = make_demo_clips(colour_dir, out_dir / "clips")
    cases = [(clip, lambda c=clip: open_source(str(clips[c])), vendor, expected)
             for clip, vendor, expected in CASES]
    return _run_cases(out_dir, wf, cases, say, pipeline)


def active_session_demo(face3d: Path, out_dir: Path, say: Callable[[str], None],
                        pipeline: FacePipeline | None = None) -> list[dict[str, Any]]:
    """FLASHING sessions: the simulator answers each session's own challenge; a recording made
    for another challenge is replayed last."""
    wf = load_workflow(FLASHING_WORKFLOW)
    replay = out_dir / "old-recording"
    shutil.rmtree(replay, ignore_errors=True)
    old = SimulatedChallengeCamera(face3d, "live", seed=11).capture(
        make_plan("FLASHING", secrets.token_bytes(16)))
    write_recording(replay, old)
    cases: list[tuple[str, Callable[[], Source], str, str]] = [
        ("sim:live", lambda: SimulatedChallengeCamera(face3d, "live", seed=1), "demo-james",
         "Approved"),
        ("sim:print", lambda: SimulatedChallengeCamera(face3d, "print", seed=2),
         "demo-print", "Declined"),
        ("sim:retint0", lambda: SimulatedChallengeCamera(face3d, "retint0", seed=3),
         "demo-replay", "Declined"),
        ("replayed", lambda: StoredRecordingCamera(replay), "demo-replayed", "Declined"),
    ]
    return _run_cases(out_dir, wf, cases, say, pipeline)


def _run_cases(out_dir: Path, wf: Workflow,
               cases: Sequence[tuple[str, Callable[[], Source], str, str]],
               say: Callable[[str], None], pipeline: FacePipeline | None = None,
               config: KioskConfig | None = None) -> list[dict[str, Any]]:
    scratch = out_dir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)  # our own demo folder: a fresh gallery each run
    make_private_dir(scratch)
    key = DeviceKey.generate(device_id="poh-demo")  # a scratch key, never the booth's
    (out_dir / "demo-device.jwk.json").write_text(json.dumps(key.public_jwk(), indent=2) + "\n")
    kiosk = open_kiosk(config or load_config(), scratch, workflow=wf,
                       db_key=secrets.token_bytes(32), scratch_key=key, pipeline=pipeline)
    rows: list[dict[str, Any]] = []
    try:
        for label, make_source, vendor, expected in cases:
            source = make_source()
            say(f"session on {source.description} for {vendor} (expected {expected})")
            result = run_session(kiosk.parts, wf, source, vendor)
            v = result.verdict
            verdict_file = out_dir / f"verdict-{label.replace(':', '-')}.json"
            verdict_file.write_bytes(result.verdict_bytes)
            matches = v.face.matches if v.face else ()
            rows.append({
                "clip": label, "vendor_data": vendor, "expected": expected,
                "status": v.status.value, "sequence": v.sequence,
                "liveness_method": v.liveness.method.value,
                "liveness_score": v.liveness.score,
                "best_match": ({"vendor_data": matches[0].vendor_data,
                                "similarity_score": matches[0].similarity_score}
                               if matches else None),
                "age": v.age.age_estimation if v.age else None,
                "warnings": [w.value for w in v.warnings], "reason": v.reason,
                "enrolled": result.enrolled, "credential": result.credential,
                "verdict_file": str(verdict_file),
                "capture_source": v.capture_source.kind.value,
            })
    finally:
        kiosk.close()
    return rows


def render_session_rows(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'clip':<11} {'source':<10} {'expected':<10} {'status':<10} {'seq':>3} "
             f"{'live':>5} {'match':>6}  warnings"]
    for r in rows:
        score = f"{r['liveness_score']:.0f}" if r["liveness_score"] is not None else "-"
        match = f"{r['best_match']['similarity_score']:.2f}" if r["best_match"] else "-"
        lines.append(f"{r['clip']:<11} {r['capture_source']:<10} {r['expected']:<10} "
                     f"{r['status']:<10} "
                     f"{r['sequence']:>3} {score:>5} {match:>6}  "
                     f"{','.join(r['warnings']) or '-'}"
                     + (f" ({r['reason']})" if "CHECK_NOT_COMPLETED" in r["warnings"] else ""))
    cred = next((r["credential"] for r in rows if r["credential"]), None)
    if cred:
        lines.append(f"credential issued on Approved ({len(cred)} characters): {cred[:48]}...")
    return "\n".join(lines)
