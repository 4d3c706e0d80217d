"""`poh check IMAGE`: passive liveness, quality cues and age for one image."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the command to the root app (filled in by the pipeline work)."""
