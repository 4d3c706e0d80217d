"""`poh bench ...`: speed and memory benchmarks."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks that print medians and ratios.", no_args_is_help=True)
