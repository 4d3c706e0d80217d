"""`poh demo`: set up on first use, then run the main job on sample faces (headless)."""

from __future__ import annotations

import typer

from app.cli.common import JsonOpt, emit, progress


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(as_json: JsonOpt = False) -> None:
        """Passive checks on real sample faces and on a simulated print and screen replay."""
        from app.demo import ensure_ready, passive_demo, render_rows

        ensure_ready(progress)
        rows = passive_demo(progress)
        emit({"passive_checks": [r.to_dict() for r in rows]}, as_json,
             lambda _: "Passive liveness (PASSIVE, one frame)\n" + render_rows(rows))
