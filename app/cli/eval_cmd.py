"""`poh eval ...`: accuracy evaluations."""

from __future__ import annotations

import typer

app = typer.Typer(help="Accuracy evaluations that print error rates with trial counts.",
                  no_args_is_help=True)
