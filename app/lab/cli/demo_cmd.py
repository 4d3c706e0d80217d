"""`poh demo`: set up on first use, then run the main job on sample faces (headless), and the
kiosk application offscreen on simulated faces and a sample video."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.errors import BadInputError

MARKER = ".poh-lab-demo"  # a folder the demo made: its kiosk parts may be rebuilt


def kiosk_out(out: Path | None) -> Path:
    """`--out`, else DATA_DIR/demo/kiosk; a given folder must be new, empty or the demo's own."""
    from app.paths import data_dir
    from storage.durable import make_private_dir

    folder = out if out is not None else data_dir() / "demo" / "kiosk"
    if out is not None and folder.exists():
        if not folder.is_dir():
            raise BadInputError(f"--out {folder}: not a folder")
        if any(folder.iterdir()) and not (folder / MARKER).is_file():
            raise BadInputError(f"--out {folder}: must be a new or empty folder (or one an "
                                f"earlier demo wrote)")
    try:
        make_private_dir(folder)
    except OSError as exc:
        raise BadInputError(f"--out {folder}: cannot create it ({exc.strerror})") from exc
    (folder / MARKER).write_text("written by poh-lab demo; rebuilt on every run\n")
    return folder


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Annotated[Path | None, typer.Option(
            "--out", help="Folder for the kiosk part's screenshots and contact sheet (default: "
                          "DATA_DIR/demo/kiosk).")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Passive checks on sample faces and simulated attacks, three signed passive sessions,
        four FLASHING sessions answered by the 3D-scan simulator, then the kiosk application
        offscreen: a simulated live person, print and re-tinting replay (FLASHING) and a sample
        video (passive), with screenshots and a contact sheet."""
        # headless-safe without the Makefile: Qt must not look for a display
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from app.cli.context import pipeline
        from app.lab.cli.kiosk_demo import SHEET_NAME, render_kiosk_rows, run_kiosk_demo
        from app.lab.cli.kiosk_demo import write_contact_sheet as write_sheet
        from app.lab.datasets import colour_dir, face3d_dir
        from app.lab.demo import ensure_ready, passive_demo, render_rows
        from app.lab.session_demo import active_session_demo, render_session_rows, session_demo
        from app.paths import data_dir

        folder = kiosk_out(out)  # bad input before any work
        parts = 5  # set-up, passive checks, sessions, FLASHING sessions, the kiosk
        with progress_report("demo parts", as_json) as shown:
            def say(message: str) -> None:  # a step inside a part, not the part's name
                shown.note(message, sticky=False)

            ensure_ready(say)
            shown.count(1, parts)
            rows = passive_demo(say)
            shown.count(2, parts)
            demo_dir = data_dir() / "demo"
            fp = pipeline()  # compiled once for every session group and kiosk run
            sessions = session_demo(colour_dir(data_dir()), demo_dir / "sessions", say,
                                    pipeline=fp)
            shown.count(3, parts)
            active = active_session_demo(face3d_dir(data_dir()), demo_dir / "flashing",
                                         say, pipeline=fp)
            shown.count(4, parts)
            video = demo_dir / "sessions" / "clips" / "live.avi"  # made by session_demo
            runs = run_kiosk_demo(video, folder, say, pipeline=fp)
            shown.count(5, parts)
        sheet = write_sheet(runs, folder / SHEET_NAME)
        emit(
            {"passive_checks": [r.to_dict() for r in rows], "sessions": sessions,
             "flashing_sessions": active, "kiosk": [r.to_dict() for r in runs],
             "contact_sheet": str(sheet)},
            as_json,
            lambda _: "Passive liveness (PASSIVE, one frame)\n" + render_rows(rows)
            + "\n\nSessions (headless runner, signed verdicts)\n"
            + render_session_rows(sessions)
            + "\n\nFLASHING sessions (screen colour challenge, simulated 3D face)\n"
            + render_session_rows(active)
            + "\n\nKiosk application (Qt, offscreen, a scripted person)\n"
            + render_kiosk_rows(runs)
            + f"\nscreenshots: {folder / 'screens'}\ncontact sheet: {sheet}",
        )
        wrong = [r.case.label for r in runs if not r.as_expected]
        if wrong:
            sys.stderr.write(f"poh-lab demo: error: the kiosk did not come out as expected "
                             f"for {', '.join(wrong)} (see the table)\n")
            raise typer.Exit(1)
