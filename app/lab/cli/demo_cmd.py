"""`poh demo`: set up on first use, then run the main job on sample faces (headless)."""

from __future__ import annotations

import typer

from app.cli.common import JsonOpt, emit, progress


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(as_json: JsonOpt = False) -> None:
        """Passive checks on sample faces and simulated attacks, three signed passive sessions,
        then four FLASHING sessions answered by the 3D-scan simulator."""
        from app.cli.context import pipeline
        from app.lab.datasets import colour_dir, face3d_dir
        from app.lab.demo import ensure_ready, passive_demo, render_rows
        from app.lab.session_demo import active_session_demo, render_session_rows, session_demo
        from app.paths import data_dir

        ensure_ready(progress)
        rows = passive_demo(progress)
        demo_dir = data_dir() / "demo"
        fp = pipeline()  # compiled once for both session groups
        sessions = session_demo(colour_dir(data_dir()), demo_dir / "sessions", progress,
                                pipeline=fp)
        active = active_session_demo(face3d_dir(data_dir()), demo_dir / "flashing", progress,
                                     pipeline=fp)
        emit(
            {"passive_checks": [r.to_dict() for r in rows], "sessions": sessions,
             "flashing_sessions": active},
            as_json,
            lambda _: "Passive liveness (PASSIVE, one frame)\n" + render_rows(rows)
            + "\n\nSessions (headless runner, signed verdicts)\n"
            + render_session_rows(sessions)
            + "\n\nFLASHING sessions (screen colour challenge, simulated 3D face)\n"
            + render_session_rows(active),
        )
