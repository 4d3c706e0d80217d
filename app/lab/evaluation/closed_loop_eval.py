"""Closed-loop sessions per species: the whole chain (plan, headless screen, closed-loop camera,
camera thread, session worker and flow, real models, signed verdict) run N times per species,
each session a new simulated person or attack drawn from the chosen settings family.

A session's liveness is accepted when the verdict's liveness block is Approved; its status may
still be In Review, since every simulated person is the same scanned face and the second one is
a duplicate of the first in the 1:N search. FLASHING: live, print, replay, retint0, retint2;
ACTIVE_3D: live, moved_photo; PASSIVE: live (the person in front of the kiosk's dark UI must
pass the product's passive liveness).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.capture.challenge import ChallengeConfig
from app.capture.screen_timeline import ScreenTimeline
from app.kiosk.config import KioskConfig
from app.kiosk.root import open_kiosk
from app.lab.kiosk_sim.headless_screen import HeadlessScreen
from app.lab.kiosk_sim.runner import SessionRun, run_closed_loop_session
from app.lab.simulation.closed_loop.camera import DEFAULT_FPS, Delays
from app.lab.simulation.closed_loop.factory import sim_capture_factory, warm_scene
from app.lab.simulation.flash.face_scene import FaceScene
from app.lab.simulation.flash.settings import Split
from app.workflows import ACTIVE_3D_WORKFLOW, DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
from inference.pipeline import FacePipeline
from sync.device_key import DeviceKey

SPECIES_BY_METHOD: dict[str, tuple[str, ...]] = {
    "FLASHING": ("live", "print", "replay", "retint0", "retint2"),
    "ACTIVE_3D": ("live", "moved_photo"),
    "PASSIVE": ("live",),
}
WORKFLOWS = {"FLASHING": FLASHING_WORKFLOW, "ACTIVE_3D": ACTIVE_3D_WORKFLOW,
             "PASSIVE": DEFAULT_WORKFLOW}


def evaluate_closed_loop(face3d: Path, config: KioskConfig, pipeline: FacePipeline, *,
                         sessions: int, split: Split, seed: int,
                         methods: Sequence[str] = ("FLASHING", "ACTIVE_3D", "PASSIVE"),
                         fps: float = DEFAULT_FPS, delays: Delays | None = None,
                         on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run `sessions` closed-loop sessions per (method, species) on one scratch kiosk whose
    challenge configuration holds the camera's true delay (as `poh kiosk calibrate` would).
    on_progress: (sessions done, sessions in all) after each session."""
    d = delays or Delays()
    challenge = ChallengeConfig(**{**config.challenge.model_dump(),
                                   "display_delay_s": round(d.total, 4)})
    cfg = config.model_copy(update={"challenge": challenge})
    scene = FaceScene(face3d)
    warm_scene(scene, split)
    rows: dict[str, dict[str, Any]] = {}
    total = sessions * sum(len(SPECIES_BY_METHOD[m]) for m in methods)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="poh_closed_loop_") as tmp:
        key = DeviceKey.generate(device_id="lab-closed-loop")  # a scratch key
        kiosk = open_kiosk(cfg, Path(tmp) / "home", db_key=secrets.token_bytes(32),
                           scratch_key=key, pipeline=pipeline)
        try:
            for m_i, method in enumerate(methods):
                wf = load_workflow(WORKFLOWS[method])
                for s_i, species in enumerate(SPECIES_BY_METHOD[method]):
                    timeline = ScreenTimeline()
                    factory = sim_capture_factory(
                        f"sim:{species}", timeline, split=split,
                        seed=seed * 1000 + m_i * 10 + s_i, fps=fps, delays=d, scene=scene,
                        warm=False)
                    screen = HeadlessScreen(timeline)
                    runs: list[SessionRun] = []
                    for i in range(sessions):
                        runs.append(run_closed_loop_session(
                            kiosk, factory, screen, f"cl-{method}-{species}-{i}", workflow=wf))
                        if on_progress is not None:
                            on_progress(len(rows) * sessions + i + 1, total)
                    rows[f"{method}/{species}"] = _row(method, species, runs)
        finally:
            kiosk.close()
    return {"split": split, "seed": seed, "sessions_per_species": sessions, "fps": fps,
            "camera_delay_s": d.camera_s, "display_delay_s": d.display_s,
            "results": rows, "seconds": round(time.perf_counter() - t_start, 1)}


def _row(method: str, species: str, runs: list[SessionRun]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    accepted = 0
    render: list[float] = []
    dropped = 0
    timing: list[float] = []
    wrong: list[dict[str, Any]] = []  # the sessions on the wrong side, with their reasons
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
        r = run.result
        ok = r is not None and r.verdict.liveness.status.value == "Approved"
        accepted += int(ok)
        if ok != (species == "live"):
            wrong.append({k: v for k, v in run.summary().items() if k != "camera"})
        if run.camera:
            render.append(run.camera["render_ms_median"])
            dropped += int(run.camera["frames_dropped"])
        timing += [abs(e) for e in run.timing_errors]
    n = len(runs)
    return {"method": method, "species": species, "sessions": n,
            "liveness_accepted": accepted, "liveness_declined": n - accepted,
            "error_metric": "bpcer" if species == "live" else "apcer",
            "errors": n - accepted if species == "live" else accepted,
            "statuses": statuses,
            "render_ms_median": round(sorted(render)[len(render) // 2], 1) if render else None,
            "frames_dropped": dropped,
            "max_timing_error_ms": round(1000 * max(timing), 1) if timing else None,
            "wrong": wrong}


def render(doc: dict[str, Any]) -> str:
    lines = [f"closed-loop sessions ({doc['split']} settings, seed {doc['seed']}, "
             f"{doc['sessions_per_species']} per species, {doc['fps']:g} fps, camera delay "
             f"{1000 * doc['camera_delay_s']:.0f} ms + display delay "
             f"{1000 * doc['display_delay_s']:.0f} ms)",
             f"  {'method':<9} {'species':<12} {'liveness accepted':>17} {'declined':>8}  "
             f"{'error':<14} {'render ms':>9} {'dropped':>7} {'max cue err ms':>14}  statuses"]
    for r in doc["results"].values():
        err = f"{r['error_metric'].upper()} {r['errors']}/{r['sessions']}"
        st = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
        ms = f"{r['render_ms_median']:.1f}" if r["render_ms_median"] is not None else "-"
        cue = f"{r['max_timing_error_ms']:.1f}" if r["max_timing_error_ms"] is not None else "-"
        lines.append(f"  {r['method']:<9} {r['species']:<12} "
                     f"{r['liveness_accepted']:>8}/{r['sessions']:<8} "
                     f"{r['liveness_declined']:>8}  {err:<14} {ms:>9} {r['frames_dropped']:>7} "
                     f"{cue:>14}  {st}")
    lines.append(f"  render ms: median per frame of each session's camera, median over sessions; "
                 f"dropped: frames the camera missed, all sessions; max cue err: presented "
                 f"minus planned ({doc['seconds']:.0f} s)")
    return "\n".join(lines)
