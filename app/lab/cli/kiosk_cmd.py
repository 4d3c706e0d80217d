"""`poh-lab kiosk`: the kiosk application run unattended, offscreen, on a camera the booth does not
own: the closed-loop simulated camera (sim:SPECIES[:SEED], lit by what the kiosk screen presents,
following its prompts) or a video file (looped at its own rate), with a scripted person who taps
Start, consents and taps Done. Sessions run in the lab's data folder, signed with its scratch key.

One JSON line per session: status, liveness score and warnings, verdict sequence, capture source,
and the largest presented-minus-planned start of a flash cue; `--screenshots DIR` saves a PNG of
every screen shown (simulated faces or the sample videos only: never run it on a real camera).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.capture.video_file import video_file_camera
from app.cli.workflow_cmd import load_or_bad_input
from app.errors import BadInputError

log = logging.getLogger(__name__)

MAX_SESSIONS = 100


def _camera(spec: str, timeline: Any, scene: Any = None) -> tuple[Any, Any, float | None]:
    """(capture factory, capture source, the simulated booth's display delay or None);
    `scene`: a FaceScene to share between runs (rendered poses are kept)."""
    if spec.startswith("sim:"):
        from app.lab.simulation.closed_loop.camera import Delays
        from app.lab.simulation.closed_loop.factory import sim_capture_factory

        factory = sim_capture_factory(spec, timeline, scene=scene)
        d: Delays = factory.delays
        return factory, factory.capture_source(), d.camera_s + d.display_s
    path = Path(spec)
    if not path.is_file():
        raise BadInputError(f"--camera {spec[:60]}: not sim:SPECIES[:SEED] nor a video file")
    return (*video_file_camera(path), None)


def _screenshots_dir(folder: Path | None) -> Path | None:
    if folder is None:
        return None
    from storage.durable import make_private_dir

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BadInputError(f"--screenshots {folder}: must be a new or empty folder")
    make_private_dir(folder)
    return folder


def register(app: typer.Typer) -> None:
    @app.command("kiosk")
    def kiosk(
        camera: Annotated[str, typer.Option(
            "--camera", help="sim:SPECIES[:SEED] (closed-loop simulated camera) or a video")],
        workflow: Annotated[Path | None, typer.Option(
            "--workflow", help="Workflow JSON (default: the default workflow).")] = None,
        sessions: Annotated[int, typer.Option("--sessions", help="Sessions to run.")] = 1,
        screenshots: Annotated[Path | None, typer.Option(
            "--screenshots", help="Save a PNG of every screen shown here.")] = None,
        display_delay: Annotated[float | None, typer.Option(
            "--display-delay", help="Seconds from presented to seen by the camera (default: "
                                    "the simulated booth's own delays; 0 for a video).")] = None,
        lang: Annotated[str, typer.Option("--lang", help="id or en")] = "en",
        home: Annotated[Path | None, typer.Option(
            "--home", help="Lab data folder (default POH_LAB_HOME, else DATA_DIR/lab).")] = None,
        offscreen: Annotated[bool, typer.Option(
            "--offscreen/--onscreen", help="No display (default).")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines (the default).")] = True,
    ) -> None:
        """Run N kiosk sessions unattended with a simulated person; one JSON line each."""
        if not 1 <= sessions <= MAX_SESSIONS:
            raise BadInputError(f"--sessions: 1 to {MAX_SESSIONS}")
        if lang not in ("id", "en"):
            raise BadInputError("--lang: id or en")
        if display_delay is not None and not 0.0 <= display_delay <= 0.5:
            raise BadInputError("--display-delay: 0 to 0.5 s")
        wf = load_or_bad_input(workflow) if workflow is not None else None
        shots = _screenshots_dir(screenshots)
        run_lab_kiosk(camera, wf, sessions, shots, display_delay, lang, home, offscreen)


SessionReport = Callable[[dict[str, Any], Any], None]  # (the JSON line, the WorkerOutcome)


def _print_line(line: dict[str, Any], _outcome: Any) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def run_lab_kiosk(camera: str, wf: Any, sessions: int, shots: Path | None,
                  display_delay: float | None, lang: str, home: Path | None,
                  offscreen: bool, *, pipeline: Any = None,
                  report: SessionReport = _print_line,
                  watch: Callable[[Any], None] | None = None,
                  wrap_capture: Callable[[Any], Any] | None = None,
                  sim_scene: Any = None) -> list[dict[str, Any]]:
    """For the demo, which runs several kiosks: `pipeline`, a FacePipeline already compiled;
    `sim_scene`, the simulator's FaceScene, loaded and warmed once; `report`, called with each
    session's line and outcome (default: the line on stdout); `watch`, attached to the
    KioskWindow before the person, and `wrap_capture`, given the capture factory, returns the
    one to use (the demo's extra screenshots and camera frames)."""
    from app.capture.presentation import PresentationError, presentation_errors
    from app.capture.screen_timeline import ScreenTimeline
    from app.cli.context import kiosk_config
    from app.cli.verdict_cmd import storage_errors
    from app.kiosk.root import open_kiosk
    from app.kiosk_main import KioskHooks, KioskOptions, run_kiosk
    from app.lab.home import lab_home, scratch_key
    from app.ui import theme
    from app.ui.person import ScreenShots, WalkUpPerson

    timeline = ScreenTimeline(theme.BACKGROUND_RGB)
    capture, source, sim_delay = _camera(camera, timeline, sim_scene)
    if wrap_capture is not None:
        capture = wrap_capture(capture)
    cfg = kiosk_config()
    delay = display_delay if display_delay is not None else (sim_delay or 0.0)
    cfg = cfg.model_copy(update={"challenge": cfg.challenge.model_copy(
        update={"display_delay_s": delay})})
    folder = lab_home(home)
    with storage_errors():
        kiosk = open_kiosk(cfg, folder, workflow=wf, scratch_key=scratch_key(folder),
                           pipeline=pipeline)
    lines: list[dict[str, Any]] = []
    flash_error: list[float | None] = [None]

    def drawn(plan: Any, plog: Any, t0: float) -> None:
        try:
            errs = presentation_errors(plan, plog, t0)
            flash_error[0] = max(abs(e) for e in errs) if errs else None
        except PresentationError:
            flash_error[0] = None

    person = WalkUpPerson(sessions, read_ms=300)
    shooter = ScreenShots(shots) if shots is not None else None

    def attach(window: Any) -> None:
        window.challenge_drawn.connect(drawn)
        if shooter is not None:
            shooter(window)
        if watch is not None:
            watch(window)
        person(window)

    def on_session(outcome: Any) -> None:
        res = outcome.result
        v = res.verdict if res is not None else None
        err = flash_error[0]
        flash_error[0] = None
        line = {
            "session": len(lines) + 1, "end": str(outcome.end),
            "status": str(v.status) if v else None,
            "liveness_score": v.liveness.score if v and v.liveness else None,
            "liveness_warnings": ([w.code for w in v.liveness.warnings]
                                  if v and v.liveness else []),
            "warnings": [str(w) for w in v.warnings] if v else [],
            "sequence": v.sequence if v else None,
            "screenshots": len(shooter.saved) if shooter is not None else None,
            "capture_source": v.capture_source.model_dump(mode="json") if v else None,
            "max_flash_error_ms": round(err * 1000, 2) if err is not None else None,
            "reason": v.reason if v else outcome.error,
        }
        lines.append(line)
        report(line, outcome)

    hooks = KioskHooks(capture=capture, source=source, kiosk=kiosk, timeline=timeline,
                       person=attach, max_sessions=sessions, on_session=on_session,
                       window={"motion_wake": False, "countdown_s": 1})
    try:
        run_kiosk(KioskOptions(offscreen=offscreen, lang=lang), hooks)
    finally:
        kiosk.close()
    return lines
