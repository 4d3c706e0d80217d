"""`poh kiosk`: the kiosk application (PySide6) on the booth's own camera.

    poh kiosk [--camera INDEX|DEVICE] [--workflow FILE] [--fullscreen] [--lang id|en] [--offscreen]
              [--report-startup]
    poh kiosk --self-test VIDEO [--sessions N] [--workflow FILE] [--offscreen] [--report-startup]
    poh kiosk calibrate [--camera INDEX|DEVICE] [--runs N] [--min-fit R2] [--dry-run] [--json]

The booth signs only what its own camera saw, so the product takes a camera index or a V4L2
device, never a video file or a simulation. The lab drives the same application with what the
product must never build itself, through `KioskHooks` (and `poh-lab kiosk`): a CaptureFactory
for a simulated or recorded camera with its CaptureSource, a kiosk opened in the lab's data
folder with a scratch key, a simulated person attached to the window, a session count, and a
ScreenTimeline that a closed-loop camera reads to be lit by the screen. The one exception is the
booth's self-test (`--self-test VIDEO`, app.ui.self_test): sessions on a video file in a
throwaway data folder with a throwaway key, each verdict naming its capture source `video_file`.

`--report-startup` prints `{"startup_s": ..., "cpu_s": ...}` (seconds from the process's start to
the first screen shown, the attract screen, and the CPU time spent by then) and quits, or goes on
with the self-test's sessions.

Exit codes: 0 (quit from operator mode, or the sessions asked for are done), 2 bad input (one
line on stderr; `calibrate --json`: the CLIs' JSON error object), 1 internal failure, 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from app.capture.camera_thread import Capture, CaptureFactory, opencv_camera
from app.capture.integrity import CameraCheck
from app.capture.screen_timeline import ScreenTimeline
from app.errors import BadInputError
from app.flow.worker import WorkerOutcome
from app.kiosk.fleet_services import kiosk_fleet_services
from app.kiosk.root import Kiosk
from app.ui import theme
from app.workflows import WorkflowError
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind

log = logging.getLogger(__name__)

QUIT_AFTER_MS = 300  # after the last of `max_sessions`, before quitting


@dataclass(frozen=True)
class KioskOptions:
    camera: str = "0"
    workflow: Path | None = None
    fullscreen: bool = False
    lang: str = "id"
    offscreen: bool = False
    verbose: int = 0
    self_test: Path | None = None  # a video file: the booth's self-test (app.ui.self_test)
    sessions: int = 1  # of the self-test
    report_startup: bool = False


@dataclass
class KioskHooks:
    """What a caller (the lab, a test) injects; None keeps the product's own part."""

    capture: CaptureFactory | None = None  # with `source`: a camera the booth does not own
    source: CaptureSource | None = None
    kiosk: Kiosk | None = None  # e.g. the lab's data folder with its scratch key
    timeline: ScreenTimeline | None = None
    person: Callable[[Any], None] | None = None  # attached to the KioskWindow once shown
    max_sessions: int | None = None  # quit after this many sessions
    on_session: Callable[[WorkerOutcome], None] | None = None
    window: dict[str, Any] = field(default_factory=dict)  # KioskWindow keyword arguments


def parse_args(argv: list[str]) -> KioskOptions:
    p = argparse.ArgumentParser(prog="poh kiosk", description="The kiosk application.")
    p.add_argument("--camera", default="0", help="camera index (0, 1, ...) or V4L2 device")
    p.add_argument("--workflow", type=Path, help="workflow JSON (default: the active one)")
    p.add_argument("--fullscreen", action="store_true")
    p.add_argument("--lang", choices=("id", "en"), default="id")
    p.add_argument("--offscreen", action="store_true", help="no display (tests, CI)")
    p.add_argument("--self-test", type=Path, metavar="VIDEO",
                   help="run sessions on this video in a throwaway data folder and key "
                        "(verdicts say capture source video_file); one JSON line each")
    p.add_argument("--sessions", type=int, default=1, help="self-test sessions (1-100)")
    p.add_argument("--report-startup", action="store_true",
                   help="print seconds from process start to the attract screen, then quit "
                        "(or run the self-test)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    try:
        ns = p.parse_args(argv)
    except SystemExit as exc:  # argparse printed its message
        raise _ArgsExit(int(exc.code or 0)) from None
    return KioskOptions(camera=ns.camera, workflow=ns.workflow, fullscreen=ns.fullscreen,
                        lang=ns.lang, offscreen=ns.offscreen, verbose=ns.verbose,
                        self_test=ns.self_test, sessions=ns.sessions,
                        report_startup=ns.report_startup)


class _ArgsExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def device_camera(path: str) -> CaptureFactory:
    def make() -> Capture:
        cap: Capture = cv2.VideoCapture(path, cv2.CAP_V4L2)
        return cap

    return make


@dataclass(frozen=True)
class BoothCamera:
    factory: CaptureFactory
    description: str
    device: int | Path  # what the capture-integrity probe reads (an index or /dev/videoN)


def booth_camera(spec: str) -> BoothCamera:
    """The booth's own camera from --camera (an index or a character device) and its
    description; bad input otherwise (checked before anything is opened)."""
    text = spec.strip()
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return BoothCamera(opencv_camera(int(text)), f"camera {int(text)}", int(text))
    if text.startswith("/dev/") and Path(text).is_char_device():
        return BoothCamera(device_camera(text), f"camera {text}"[:200], Path(text))
    raise BadInputError(f"--camera {spec[:60]}: give the booth's camera index or its "
                        f"/dev/video device; video files and simulations run in the lab "
                        f"(`poh-lab kiosk`), signed with a scratch key")


def use_compiled_model_cache() -> None:
    """Compiled models kept in the cache folder (owner-only) for the next start; without it
    (a read-only cache folder) every start compiles them again, and says so."""
    from app.paths import cache_dir
    from inference.runtime import use_compile_cache
    from storage.durable import make_private_dir

    try:
        use_compile_cache(make_private_dir(cache_dir() / "openvino"))
    except OSError as exc:
        log.warning("no compiled-model cache (%s): every start compiles the models", exc)


def _open_product_kiosk(options: KioskOptions) -> Kiosk:
    from app.kiosk.config import load_config
    from app.kiosk.root import open_kiosk
    from app.paths import poh_home
    from app.workflows import load_workflow

    wf = load_workflow(options.workflow) if options.workflow is not None else None
    use_compiled_model_cache()
    return open_kiosk(load_config(), poh_home(), workflow=wf)


def run_kiosk(options: KioskOptions, hooks: KioskHooks | None = None) -> int:
    """Build the kiosk, show the window and run Qt's event loop until quit."""
    if options.self_test is not None and hooks is None:
        return _run_self_test(options)
    hooks = hooks or KioskHooks()
    if options.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if (hooks.capture is None) != (hooks.source is None):
        raise ValueError("an injected camera needs its capture source, and the other way round")
    camera: BoothCamera | None = None
    if hooks.capture is None:
        camera = booth_camera(options.camera)  # bad input fails before anything is opened
    own_kiosk = hooks.kiosk is None
    kiosk = hooks.kiosk or _open_product_kiosk(options)
    try:
        if camera is not None:
            device = camera.device
            source = CaptureSource(kind=CaptureKind.CAMERA, device_id=kiosk.key.device_id,
                                   detail=camera.description)
            with kiosk_fleet_services(kiosk):  # drain and template sync of a fleet booth
                return _run_qt(kiosk, camera.factory, source, options, hooks,
                               camera_check=lambda: kiosk.camera_check(device))
        if hooks.capture is not None and hooks.source is not None:
            return _run_qt(kiosk, hooks.capture, hooks.source, options, hooks)
        raise ValueError("an injected camera needs its capture source")  # ruled out above
    finally:
        if own_kiosk:
            kiosk.close()


def _run_self_test(options: KioskOptions) -> int:
    from app.ui.self_test import MAX_SESSIONS, self_test_hooks
    from app.workflows import load_workflow

    if options.self_test is None or not 1 <= options.sessions <= MAX_SESSIONS:
        raise BadInputError(f"--sessions: 1 to {MAX_SESSIONS}")
    wf = load_workflow(options.workflow) if options.workflow is not None else None
    with self_test_hooks(options.self_test, options.sessions, wf) as hooks:
        return run_kiosk(options, hooks)


def _report_startup(window: Any, quit_after: Callable[[], None] | None) -> None:
    from app.kiosk.startup_clock import cpu_seconds, seconds_since_process_start

    line = {"startup_s": round(seconds_since_process_start(), 3),
            "cpu_s": round(cpu_seconds(), 3), "screen": window.current}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    if quit_after is not None:
        quit_after()


def _run_qt(kiosk: Kiosk, capture: CaptureFactory, source: CaptureSource,
            options: KioskOptions, hooks: KioskHooks,
            camera_check: Callable[[], CameraCheck] | None = None) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.kiosk.operator import gate_for
    from app.kiosk.operator_console import OperatorConsole, RecentErrors
    from app.ui.booth import Booth
    from app.ui.i18n import Translator
    from app.ui.qt_messages import route_qt_messages
    from app.ui.window import KioskWindow

    app = QApplication.instance() or QApplication(["poh kiosk"])
    route_qt_messages()
    errors = RecentErrors()
    logging.getLogger().addHandler(errors)
    timeline = hooks.timeline or ScreenTimeline(theme.BACKGROUND_RGB)
    booth = Booth(kiosk, capture, source, camera_check=camera_check)
    console = OperatorConsole(kiosk, gate_for(kiosk.config.operator, kiosk.storage.home),
                              errors=errors)
    tr = Translator(options.lang)
    window = KioskWindow(booth, console, tr, timeline=timeline, **hooks.window)
    done = 0

    def session_done(outcome: WorkerOutcome) -> None:
        nonlocal done
        done += 1
        if hooks.on_session is not None:
            hooks.on_session(outcome)
        if hooks.max_sessions is not None and done >= hooks.max_sessions:
            QTimer.singleShot(QUIT_AFTER_MS, loop.quit)  # the last screen is drawn (and shot)

    # The kiosk runs in its own event loop, ended only by operator mode (or the session count):
    # the application's own quit state is left alone, so a host that runs the kiosk (a test)
    # keeps a working QApplication afterwards.
    loop = QEventLoop()
    window.quit_requested.connect(loop.quit)
    app.aboutToQuit.connect(loop.quit)
    window.session_done.connect(session_done)
    try:
        booth.start()
        if options.fullscreen:
            window.showFullScreen()
        else:
            window.resize(1280, 800)
            window.show()
        if options.report_startup:
            # the first turn of the event loop after the window is shown: its first screen
            # (the attract screen) has been laid out and exposed
            quit_after = loop.quit if hooks.max_sessions is None else None
            QTimer.singleShot(0, lambda: _report_startup(window, quit_after))
        if hooks.person is not None:
            hooks.person(window)
        loop.exec()
    finally:
        booth.close()
        logging.getLogger().removeHandler(errors)
        window.close()
        window.deleteLater()
    return 0


def _configure_logging(verbose: int) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    level = logging.WARNING - 10 * min(verbose, 2)
    for name in ("app", "inference", "storage", "sync"):
        logging.getLogger(name).setLevel(level)


def store_display_delay(delay_s: float) -> Path:
    """Write `challenge.display_delay_s` into the configuration file, keeping the rest."""
    from app.kiosk.config_file import update_config_section

    return update_config_section("challenge", lambda: {"display_delay_s": round(float(delay_s), 3)})


def calibrate_main(argv: list[str], capture: CaptureFactory | None = None,
                   timeline: ScreenTimeline | None = None) -> int:
    """`poh kiosk calibrate`: measure the display delay on the booth and store it. `capture`
    and `timeline`: a camera the booth does not own and what it reads of the screen (tests)."""
    p = argparse.ArgumentParser(prog="poh kiosk calibrate",
                                description="Measure presented-to-seen delay; store it.")
    p.add_argument("--camera", default="0", help="camera index (0, 1, ...) or V4L2 device")
    p.add_argument("--runs", type=int, default=3, choices=range(1, 11), metavar="1-10")
    p.add_argument("--min-fit", type=float, default=0.5, help="refuse below this R^2")
    p.add_argument("--dry-run", action="store_true", help="measure, store nothing")
    p.add_argument("--fullscreen", action="store_true")
    p.add_argument("--offscreen", action="store_true")
    p.add_argument("--json", action="store_true", dest="as_json")
    p.add_argument("-v", "--verbose", action="count", default=0)
    try:
        ns = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if ns.verbose:  # asked for; else logging stays as the host set it (tests)
        _configure_logging(ns.verbose)
    if not 0.0 <= ns.min_fit <= 1.0:
        raise BadInputError("--min-fit: 0 to 1")
    factory = capture or booth_camera(ns.camera).factory
    if ns.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from app.cli.progress_bar import progress_report
    from app.ui.calibrate import CalibrationError, calibrate

    try:
        with progress_report("calibration runs", ns.as_json) as shown:  # about 4 s a run
            cal = calibrate(factory, runs=ns.runs, fullscreen=ns.fullscreen, timeline=timeline,
                            progress=shown.count)
    except CalibrationError as exc:
        raise BadInputError(f"calibration failed: {exc}; nothing stored") from exc
    if cal.worst_fit < ns.min_fit:
        raise BadInputError(f"the camera hardly sees the screen's light (fit {cal.worst_fit:.2f} "
                            f"< {ns.min_fit:g}): stand in front of it or hold up a white card; "
                            f"nothing stored")
    stored = None if ns.dry_run else store_display_delay(cal.delay_s)
    out = {"display_delay_s": round(cal.delay_s, 3), "runs_s": list(cal.delays_s),
           "fits": [round(f, 3) for f in cal.fits], "config": str(stored) if stored else None}
    if ns.as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        where = f"stored in {stored}" if stored else "not stored (--dry-run)"
        sys.stdout.write(f"display delay {cal.delay_s * 1000:.0f} ms (runs: "
                         f"{', '.join(f'{d * 1000:.0f}' for d in cal.delays_s)} ms; worst fit "
                         f"{cal.worst_fit:.2f}); {where}\n")
    return 0


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as the CLIs (app.cli.main) exit on Ctrl-C


def _fail(prog: str, code: int, message: str, as_json: bool = False) -> int:
    """One line on stderr; under --json the CLIs' JSON error object instead."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    if as_json:
        sys.stderr.write(json.dumps({"error": {"exit_code": code, "message": first}}) + "\n")
    else:
        sys.stderr.write(f"{prog}: error: {first}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """`poh kiosk ...`: returns the exit code (0, 2 bad input, 1 internal failure, 130
    interrupted)."""
    args = sys.argv[1:] if argv is None else argv
    # -v/-vv anywhere on the line, as in the CLIs: `poh -v kiosk calibrate` arrives as
    # ["-v", "calibrate", ...]
    verbosity = [a for a in args if a in ("-v", "-vv", "--verbose")]
    rest = [a for a in args if a not in verbosity]
    if rest[:1] == ["calibrate"]:
        as_json = "--json" in args
        try:
            return calibrate_main(rest[1:] + verbosity)
        except (BadInputError, WorkflowError) as exc:
            return _fail("poh kiosk calibrate", 2, str(exc), as_json)
        except KeyboardInterrupt:
            return _fail("poh kiosk calibrate", EXIT_INTERRUPTED, "interrupted", as_json)
        except Exception as exc:
            log.debug("internal failure", exc_info=True)
            return _fail("poh kiosk calibrate", 1,
                         f"internal failure: {type(exc).__name__}: {exc}", as_json)
    try:
        options = parse_args(args)
    except _ArgsExit as exc:
        return exc.code
    _configure_logging(options.verbose)
    try:
        return run_kiosk(options)
    except (BadInputError, WorkflowError) as exc:
        sys.stderr.write(f"poh kiosk: error: {str(exc).splitlines()[0]}\n")
        return 2
    except KeyboardInterrupt:
        return _fail("poh kiosk", EXIT_INTERRUPTED, "interrupted")
    except Exception as exc:
        log.debug("internal failure", exc_info=True)
        sys.stderr.write(f"poh kiosk: error: internal failure: {type(exc).__name__}: {exc}\n")
        return 1
