"""Speed of the session flow before and after two-rate inference, all measured in one run.

The flow (app.flow.controller) tracks every frame (detection, mesh, pose, blendshapes) and
checks its quality, and completes only a candidate frame (embedding, age, and anti-spoofing
for PASSIVE only). The old runner (commit 5d81770, app/runner.py) ran the full analysis,
anti-spoofing included, on every frame for every method. `OldPathPipeline` reproduces that
per-frame cost inside the current flow, so "before" and "after" differ in nothing else.

Figures, all on the same compiled models in the same process, interleaved so that the load of
a shared machine falls on both sides alike (quote medians and ratios, not absolute times):

1. per frame, on real face frames (the demo clips made from the colour portraits): the old
   path, the tracking path, and a candidate frame for PASSIVE and for FLASHING;
2. whole sessions, before and after: PASSIVE (default workflow, the demo "live" clip) and
   FLASHING (the simulator's live face answering the session's plan, rendered before the timer
   starts); each on a fresh scratch kiosk (temporary data folder, scratch key, empty gallery);
3. PASSIVE "face in position" to verdict: from the moment the first frame the flow accepts is
   handed to it to ResultReady, wall-clock. The clip is pushed as fast as the flow takes frames
   (a live camera delivers faster than the flow analyses), so this is the compute-bound time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.capture.frames import Frame, FrameSource, open_source
from app.capture.plan import make_plan, new_nonce
from app.capture.recording import Recording
from app.flow.events import FlowEvent, ResultReady
from app.flow.headless import open_flow, run_flow, run_session
from app.flow.services import SessionParts
from app.kiosk.config import KioskConfig
from app.kiosk.root import Kiosk, open_kiosk
from app.lab.demo_clips import make_demo_clips
from app.lab.simulation.flash.challenge_camera import SimulatedChallengeCamera
from app.session import CaptureCompleted, FrameAccepted
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, Workflow, load_workflow
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig, assess_quality
from inference.types import FrameAnalysis
from sync.device_key import DeviceKey
from sync.vocabulary import CaptureKind

TARGET_POSITION_TO_VERDICT_MS = 500.0
VENDOR = "bench-person"
BgrImage = np.ndarray


class OldPathPipeline(FacePipeline):
    """The old-path baseline (commit 5d81770): every frame gets the full analysis, embedding,
    age and anti-spoofing included, whatever the liveness method; `complete` then has nothing
    left to do. Shares the compiled models of `inner` (nothing is compiled again)."""

    def __init__(self, inner: FacePipeline) -> None:  # no super().__init__(): no recompiling
        self._inner = inner
        self.config = inner.config

    def track(self, frame: np.ndarray) -> FrameAnalysis:
        return self._inner.analyze(frame)

    def complete(self, frame: np.ndarray, tracked: FrameAnalysis, *, antispoof: bool = True,
                 age: bool = True) -> FrameAnalysis:
        return tracked

    def analyze(self, frame: np.ndarray, *, embed: bool = True, antispoof: bool = True,
                age: bool = True, landmarks: bool = True) -> FrameAnalysis:
        return self._inner.analyze(frame, embed=embed, antispoof=antispoof, age=age,
                                   landmarks=landmarks)

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


# ---- statistics ------------------------------------------------------------------------------
def _stat(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    return {"median": round(statistics.median(values), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "n": len(values)}


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b > 0 else float("nan")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---- 1. per frame ----------------------------------------------------------------------------
def read_clip(path: Path) -> list[BgrImage]:
    cap = cv2.VideoCapture(str(path))
    frames: list[BgrImage] = []
    try:
        while True:
            ok, img = cap.read()
            if not ok or img is None:
                break
            frames.append(img)
    finally:
        cap.release()
    if not frames:
        raise FileNotFoundError(f"{path}: no frames")
    return frames


def frame_costs(pipeline: FacePipeline, quality: QualityConfig, images: list[BgrImage]
                ) -> dict[str, Any]:
    """Median and p95 ms of each path, every path on every frame, in a rotating order."""

    def quality_of(img: BgrImage, tracked: FrameAnalysis) -> bool:
        faces = tracked.faces
        report = assess_quality(img, faces[0] if len(faces) == 1 else None, len(faces), quality)
        return len(faces) == 1 and report.ok and faces[0].landmarks is not None

    def old(img: BgrImage) -> None:  # what the old runner did per frame
        quality_of(img, pipeline.analyze(img))

    def track(img: BgrImage) -> None:
        quality_of(img, pipeline.track(img))

    def candidate(antispoof: bool) -> Callable[[BgrImage], None]:
        def run(img: BgrImage) -> None:
            tracked = pipeline.track(img)
            quality_of(img, tracked)
            pipeline.complete(img, tracked, antispoof=antispoof)
        return run

    paths: dict[str, Callable[[BgrImage], None]] = {
        "old_analyze": old, "track": track,
        "candidate_passive": candidate(True), "candidate_flashing": candidate(False)}
    for img in images[:2]:  # first calls allocate buffers
        for fn in paths.values():
            fn(img)
    times: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    one_face = candidates = 0
    for i, img in enumerate(images):
        tracked = pipeline.track(img)
        one_face += len(tracked.faces) == 1
        candidates += quality_of(img, tracked)
        for k in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            paths[k](img)
            times[k].append(_ms(t0))
    stats = {k: _stat(v) for k, v in times.items()}
    old_ms = stats["old_analyze"]["median"]
    return {
        "n": len(images), "one_face": one_face, "candidates": candidates,
        "frame_shape": list(images[0].shape[:2]),
        "paths_ms": stats,
        "old_over": {k: _ratio(old_ms, stats[k]["median"]) for k in names if k != "old_analyze"},
    }


# ---- 2. and 3. sessions ----------------------------------------------------------------------
class _StampedSource(FrameSource):
    """A frame source that notes when it hands each frame to the flow."""

    def __init__(self, inner: FrameSource) -> None:
        super().__init__(inner.description, inner.live, inner.fps, inner.kind)
        self._inner = inner
        self.handed_at = 0.0

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._inner:
            self.frames_read = self._inner.frames_read
            self.handed_at = time.perf_counter()
            yield frame
        self.end_reason = self._inner.end_reason

    def close(self) -> None:
        self._inner.close()


class _PrerenderedCamera:
    """A challenge camera that hands back a recording rendered before the timer started (for
    the plan of the session's fixed nonce, so it is not refused as a replay)."""

    kind = CaptureKind.SIMULATION

    def __init__(self, rec: Recording, description: str) -> None:
        self._rec = rec
        self.description = description

    def capture(self, plan: Any) -> Recording:
        return self._rec


@dataclass
class _Runs:
    ms: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    frames_read: list[int] = field(default_factory=list)
    to_verdict_ms: list[float] = field(default_factory=list)  # PASSIVE: face in position
    capture_to_verdict_ms: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "median_ms": round(statistics.median(self.ms), 1),
            "min_ms": round(min(self.ms), 1),  # the least disturbed run on a shared machine
            "runs_ms": [round(x, 1) for x in self.ms],
            "statuses": self.statuses, "frames_read": self.frames_read}
        if self.to_verdict_ms:
            out["position_to_verdict_median_ms"] = round(statistics.median(self.to_verdict_ms), 1)
            out["position_to_verdict_min_ms"] = round(min(self.to_verdict_ms), 1)
            out["position_to_verdict_runs_ms"] = [round(x, 1) for x in self.to_verdict_ms]
            out["capture_to_verdict_median_ms"] = round(
                statistics.median(self.capture_to_verdict_ms), 1)
        return out


class _Bench:
    def __init__(self, config: KioskConfig, pipeline: FacePipeline, root: Path) -> None:
        # a scratch data folder per kiosk: never the booth's (a configured storage home or
        # absolute key / snapshot paths are dropped)
        storage = config.storage.model_copy(
            update={"home": None, "key_file": None, "snapshot_dir": None})
        self.config = config.model_copy(update={"storage": storage})
        self.pipeline = pipeline
        self.old = OldPathPipeline(pipeline)
        self.root = root

    def kiosk(self, wf: Workflow) -> Kiosk:
        home = Path(tempfile.mkdtemp(prefix="kiosk-", dir=self.root))
        return open_kiosk(self.config, home, workflow=wf, db_key=secrets.token_bytes(32),
                          scratch_key=DeviceKey.generate(device_id="lab-bench"),
                          pipeline=self.pipeline)

    def parts(self, kiosk: Kiosk, before: bool) -> SessionParts:
        return replace(kiosk.parts, pipeline=self.old) if before else kiosk.parts

    def close(self, kiosk: Kiosk) -> None:
        home = kiosk.storage.home
        kiosk.close()
        shutil.rmtree(home, ignore_errors=True)

    def passive(self, wf: Workflow, clip: Path, before: bool, runs: _Runs | None) -> None:
        kiosk = self.kiosk(wf)
        try:
            source = _StampedSource(open_source(str(clip)))
            flow = open_flow(self.parts(kiosk, before), wf, source, VENDOR)
            marks: dict[str, float] = {}

            def listen(event: FlowEvent) -> None:
                now = time.perf_counter()
                if isinstance(event, FrameAccepted) and event.accepted == 1:
                    marks["position"] = source.handed_at
                elif isinstance(event, CaptureCompleted):
                    marks["captured"] = now
                elif isinstance(event, ResultReady):
                    marks["verdict"] = now

            flow.subscribe(listen)
            t0 = time.perf_counter()
            result = run_flow(flow, source)
            elapsed = _ms(t0)
        finally:
            self.close(kiosk)
        if runs is None:
            return
        runs.ms.append(elapsed)
        runs.statuses.append(result.verdict.status.value)
        runs.frames_read.append(result.frames_read)
        if "position" in marks and "verdict" in marks:
            runs.to_verdict_ms.append((marks["verdict"] - marks["position"]) * 1000.0)
            runs.capture_to_verdict_ms.append((marks["verdict"] - marks["captured"]) * 1000.0)

    def flashing(self, wf: Workflow, camera: _PrerenderedCamera, nonce: bytes, before: bool,
                 runs: _Runs | None) -> None:
        kiosk = self.kiosk(wf)
        try:
            t0 = time.perf_counter()
            result = run_session(self.parts(kiosk, before), wf, camera, VENDOR, nonce=nonce)
            elapsed = _ms(t0)
        finally:
            self.close(kiosk)
        if runs is not None:
            runs.ms.append(elapsed)
            runs.statuses.append(result.verdict.status.value)
            runs.frames_read.append(result.frames_read)


def _render(face3d: Path, seed: int) -> tuple[_PrerenderedCamera, bytes, float, int]:
    nonce = new_nonce()
    sim = SimulatedChallengeCamera(face3d, "live", seed=seed)
    t0 = time.perf_counter()
    rec = sim.capture(make_plan("FLASHING", nonce))
    return _PrerenderedCamera(rec, sim.description), nonce, _ms(t0), len(rec.frames)


def _compare(before: _Runs, after: _Runs) -> dict[str, Any]:
    b, a = before.to_dict(), after.to_dict()
    return {"before": b, "after": a, "speedup": _ratio(b["median_ms"], a["median_ms"])}


def run_session_bench(config: KioskConfig, colour_dir: Path, face3d: Path, *,
                      frames: int = 60, repeats: int = 3,
                      progress: Callable[[str], None] | None = None,
                      count: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """progress(text) names each phase; count(done, total) follows the timed sessions."""
    say = progress or (lambda _msg: None)
    tick = count or (lambda _done, _total: None)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="poh-bench-session-") as tmp:
        root = Path(tmp)
        say("making the demo clips from the colour portraits")
        clips = make_demo_clips(colour_dir, root / "clips")
        say("compiling the face pipeline")
        t0 = time.perf_counter()
        pipeline = FacePipeline(config.inference)
        startup_ms = _ms(t0)
        pool = [img for name in ("live", "again", "print") for img in read_clip(clips[name])]
        images = [pool[i % len(pool)] for i in range(frames)]
        say(f"per frame: old path, tracking, candidate (PASSIVE, FLASHING) on {frames} frames")
        per_frame = frame_costs(pipeline, config.quality, images)

        bench = _Bench(config, pipeline, root)
        passive_wf = load_workflow(DEFAULT_WORKFLOW)
        flash_wf = load_workflow(FLASHING_WORKFLOW)
        say("warm-up sessions (not timed)")
        bench.passive(passive_wf, clips["live"], False, None)
        cam, nonce, _, _ = _render(face3d, 0)
        bench.flashing(flash_wf, cam, nonce, False, None)

        runs = {m: {"before": _Runs(), "after": _Runs()} for m in ("PASSIVE", "FLASHING")}
        render_ms: list[float] = []
        rec_frames = 0
        for r in range(repeats):
            order = (False, True) if r % 2 == 0 else (True, False)  # alternate who goes first
            say(f"repeat {r + 1}/{repeats}: PASSIVE sessions before and after")
            for before in order:
                bench.passive(passive_wf, clips["live"], before,
                              runs["PASSIVE"]["before" if before else "after"])
                tick(4 * r + 1 + int(before == order[1]), 4 * repeats)
            say(f"repeat {r + 1}/{repeats}: rendering a FLASHING answer, then its sessions")
            cam, nonce, render, rec_frames = _render(face3d, 100 + r)
            render_ms.append(render)
            for before in order:
                bench.flashing(flash_wf, cam, nonce, before,
                               runs["FLASHING"]["before" if before else "after"])
                tick(4 * r + 3 + int(before == order[1]), 4 * repeats)

    passive = _compare(runs["PASSIVE"]["before"], runs["PASSIVE"]["after"])
    flashing = _compare(runs["FLASHING"]["before"], runs["FLASHING"]["after"])
    flashing["recording_frames"] = rec_frames
    flashing["render_median_ms_excluded"] = round(statistics.median(render_ms), 1)
    after_ptv = passive["after"].get("position_to_verdict_median_ms", float("nan"))
    before_ptv = passive["before"].get("position_to_verdict_median_ms", float("nan"))
    return {
        "cpu_count": os.cpu_count(),
        "load_average_before_after": [load_before, _load()],
        "startup_ms": round(startup_ms, 1),
        "per_frame": per_frame,
        "sessions": {"repeats": repeats, "PASSIVE": passive, "FLASHING": flashing},
        "position_to_verdict": {
            "method": "PASSIVE",
            "after_median_ms": after_ptv,
            "before_median_ms": before_ptv,
            "speedup": _ratio(before_ptv, after_ptv),
            "target_ms": TARGET_POSITION_TO_VERDICT_MS,
            "met": bool(after_ptv <= TARGET_POSITION_TO_VERDICT_MS),
        },
    }


# ---- report ----------------------------------------------------------------------------------
_PATH_LABELS = {
    "old_analyze": "old path: analyze (anti-spoofing) + quality",
    "track": "tracking: track + quality",
    "candidate_passive": "candidate PASSIVE: + complete(antispoof)",
    "candidate_flashing": "candidate FLASHING: + complete(no antispoof)",
}


def format_report(r: dict[str, Any]) -> str:
    pf = r["per_frame"]
    lines = [f"{r['cpu_count']} CPUs, load average (1/5/15 min) before "
             f"{r['load_average_before_after'][0]}, after {r['load_average_before_after'][1]}; "
             "everything below measured in this one run (compare ratios, not absolute times)",
             f"per frame: {pf['n']} demo-clip frames ({pf['frame_shape'][1]}x"
             f"{pf['frame_shape'][0]}), {pf['one_face']} with one face, {pf['candidates']} "
             "candidates; every path on every frame, interleaved",
             f"  {'path':<46}{'median ms':>10}{'p95 ms':>9}{'old/this':>9}"]
    for k, label in _PATH_LABELS.items():
        s = pf["paths_ms"][k]
        ratio = f"{pf['old_over'][k]:.2f}x" if k in pf["old_over"] else "1.00x"
        lines.append(f"  {label:<46}{s['median']:>10.1f}{s['p95']:>9.1f}{ratio:>9}")
    ss = r["sessions"]
    lines.append(f"whole sessions, median of {ss['repeats']} (fresh scratch kiosk each; "
                 "before = old per-frame path in the current flow):")
    for method, what in (("PASSIVE", "default workflow, demo live clip"),
                         ("FLASHING", "flashing workflow, simulated live face")):
        s = ss[method]
        b, a = s["before"], s["after"]
        lines.append(f"  {method:<9} before {b['median_ms']:>7.1f} ms (min {b['min_ms']:.1f})  "
                     f"after {a['median_ms']:>7.1f} ms (min {a['min_ms']:.1f})  "
                     f"speedup {s['speedup']:.2f}x")
        lines.append(f"            {what}; statuses after "
                     f"{', '.join(sorted(set(a['statuses'])))}, frames read {a['frames_read']}")
    fl = ss["FLASHING"]
    lines.append(f"  FLASHING recording: {fl['recording_frames']} frames, rendered before the "
                 f"timer (median {fl['render_median_ms_excluded']:.0f} ms, excluded)")
    pv = r["position_to_verdict"]
    after = ss["PASSIVE"]["after"]
    nan = float("nan")
    lines.append("PASSIVE face in position -> verdict (first accepted frame handed to the flow "
                 "-> ResultReady, wall-clock, compute-bound):")
    lines.append(f"  after {pv['after_median_ms']:.1f} ms median (min "
                 f"{after.get('position_to_verdict_min_ms', nan):.1f}; capture complete -> "
                 f"verdict {after.get('capture_to_verdict_median_ms', nan):.1f} ms), before "
                 f"{pv['before_median_ms']:.1f} ms median ({pv['speedup']:.2f}x)")
    lines.append(f"target <= {pv['target_ms']:.0f} ms: {'met' if pv['met'] else 'NOT met'}")
    return "\n".join(lines)
