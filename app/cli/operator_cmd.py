"""`poh operator set-pin|export-day`: the operator PIN, and a day's signed verdicts to a folder.

set-pin reads the PIN twice without echo and writes its salted scrypt hash into the `operator`
section of the configuration file (POH_CONFIG, else POH_HOME/config.json), keeping every other
setting as written; the file is replaced atomically and left readable by its owner only.
export-day needs no PIN: whoever runs it can read the data folder already.
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.errors import BadInputError

app = typer.Typer(help="Operator mode: PIN and exports.", no_args_is_help=True)


@app.command("set-pin")
def set_pin() -> None:
    """Set the operator PIN (4 to 12 digits, typed twice, not shown)."""
    from app.kiosk.config_file import update_config_section
    from app.kiosk.operator import hash_pin

    def ask() -> dict[str, Any]:
        pin = getpass.getpass("operator PIN (4-12 digits): ")
        if getpass.getpass("again: ") != pin:
            raise BadInputError("the two PINs differ; nothing changed")
        return {"pin_hash": hash_pin(pin)}

    path = update_config_section("operator", ask)
    emit({"config": str(path)}, False, lambda o: f"operator PIN set in {o['config']}")


@app.command("export-day")
def export_day(
    day: Annotated[str, typer.Argument(help="The UTC day, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Argument(help="A new (or empty) folder for the verdict files.")],
    as_json: JsonOpt = False,
) -> None:
    """Write each verdict stored that UTC day, exactly as signed, to OUT/<sequence>-<session>.json
    (each verifies with `poh verdict verify`)."""
    from app.cli.context import kiosk_storage
    from app.cli.store_cmd import _storage_errors
    from app.kiosk.operator_console import export_verdicts

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise BadInputError(f"{day!r}: not a day (YYYY-MM-DD)") from None
    if len(day) != 10:
        raise BadInputError(f"{day!r}: not a day (YYYY-MM-DD)")
    with _storage_errors(), kiosk_storage() as storage:
        try:
            files = export_verdicts(storage, when, out)
        except OSError as exc:  # the folder cannot be made or written
            raise BadInputError(f"{out}: {exc.strerror or exc}") from None
    emit({"day": when.isoformat(), "folder": str(out), "files": [str(f) for f in files]},
         as_json, lambda o: f"{len(o['files'])} verdicts of {o['day']} written to {o['folder']}")
