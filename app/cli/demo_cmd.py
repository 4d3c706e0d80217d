"""`poh demo`: set up on first use, then run the main job on sample faces (headless)."""

from __future__ import annotations

import typer

from app.cli.common import JsonOpt, emit, progress


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(as_json: JsonOpt = False) -> None:
        """Passive checks on sample faces and simulated attacks, then three signed sessions."""
        from app.datasets import colour_dir
        from app.demo import ensure_ready, passive_demo, render_rows
        from app.paths import data_dir
        from app.session_demo import render_session_rows, session_demo

        ensure_ready(progress)
        rows = passive_demo(progress)
        sessions = session_demo(colour_dir(data_dir()), data_dir() / "demo" / "sessions", progress)
        emit(
            {"passive_checks": [r.to_dict() for r in rows], "sessions": sessions},
            as_json,
            lambda _: "Passive liveness (PASSIVE, one frame)\n" + render_rows(rows)
            + "\n\nSessions (headless runner, signed verdicts)\n"
            + render_session_rows(sessions),
        )
