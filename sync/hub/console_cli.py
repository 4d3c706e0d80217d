"""`poh hub operator ...`, `poh hub devices`, `poh hub workflow ...`, `poh hub erasure ...`:
console accounts and fleet operations from the command line (mounted on sync.hub.cli). Every
change is in the console's audit log, under the operator name given with --by (by default
cli:<the system user>)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sync.hub.console import accounts, audit, fleet_ops
from sync.hub.console.passwords import PasswordError
from sync.hub.db import open_engine
from sync.strict_json import InputError, read_input_file

DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL: sqlite:///hub.db (default) "
                                    "or postgresql+psycopg://user@host/db")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who does it (the audit log's name); "
                                           "default cli:<system user>")]
DEFAULT_DB = "sqlite:///hub.db"

operator_app = typer.Typer(help="Review console accounts and the audit log.",
                           no_args_is_help=True)
workflow_app = typer.Typer(help="Workflows published to a fleet.", no_args_is_help=True)
erasure_app = typer.Typer(help="Fleet-wide erasure of a person.", no_args_is_help=True)


class ConsoleInputError(ValueError):
    """Bad input to a console command (exit 2); one line."""


BAD_INPUT = (ConsoleInputError, accounts.AccountError, PasswordError, fleet_ops.FleetOpsError)


def _emit(obj: Any, as_json: bool, text: str) -> None:
    sys.stdout.write((json.dumps(obj, indent=2, default=str) if as_json else text) + "\n")


def _actor(by: str | None) -> str:
    return by if by else f"cli:{getpass.getuser()}"


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            text = read_input_file(password_file, max_bytes=4096).decode("utf-8")
        except (InputError, UnicodeDecodeError) as exc:
            raise ConsoleInputError(f"{password_file}: {exc}") from None
        return text.rstrip("\r\n")
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ConsoleInputError("the two passwords differ")
    return first


PasswordFileOpt = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from this file (else asked for, or one line "
    "of standard input)")]


@operator_app.command("add")
def operator_add(name: str,
                 role: Annotated[str, typer.Option("--role", help="reviewer or admin")],
                 password_file: PasswordFileOpt = None, db: DbOpt = DEFAULT_DB,
                 by: ByOpt = None) -> None:
    """Create a console account (the password is kept as a scrypt hash)."""
    r = accounts.parse_role(role)
    engine = open_engine(db)
    accounts.add_operator(engine, name, r, _password(password_file))
    audit.add(engine, _actor(by), "operator_add", name, None, r.value)
    _emit({"name": name, "role": r.value}, False, f"operator {name} ({r.value}) added")


@operator_app.command("password")
def operator_password(name: str, password_file: PasswordFileOpt = None, db: DbOpt = DEFAULT_DB,
                      by: ByOpt = None) -> None:
    """Set a new password (and lift a lock-out)."""
    engine = open_engine(db, create=False)
    accounts.set_password(engine, name, _password(password_file))
    audit.add(engine, _actor(by), "operator_password", name)
    _emit({}, False, f"new password for {name}")


@operator_app.command("disable")
def operator_disable(name: str, db: DbOpt = DEFAULT_DB, by: ByOpt = None) -> None:
    """No more logins for this account; its open sessions end."""
    engine = open_engine(db, create=False)
    accounts.disable_operator(engine, name)
    audit.add(engine, _actor(by), "operator_disable", name)
    _emit({}, False, f"operator {name} disabled")


@operator_app.command("list")
def operator_list(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """The accounts (never their passwords)."""
    rows = accounts.list_operators(open_engine(db, create=False))
    _emit(rows, as_json, "\n".join(
        f"{r['name']}: {r['role']}" + (" DISABLED" if r["disabled_at"] else "")
        + (" LOCKED" if r["locked"] else "") for r in rows) or "no operators")


@operator_app.command("log")
def operator_log(limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
                 actor: Annotated[str | None, typer.Option(help="only this operator")] = None,
                 db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """The audit log, newest first: who did what, when, and why."""
    rows = audit.entries(open_engine(db, create=False), limit, actor)
    _emit(rows, as_json, "\n".join(
        f"{r['at']} {r['actor']} {r['action']} {r['target'] or ''}"
        + (f" reason: {r['reason']}" if r["reason"] else "")
        + (f" ({r['detail']})" if r["detail"] else "") for r in rows) or "no entries")


def devices(fleet: Annotated[str | None, typer.Option(help="only this fleet")] = None,
            db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Devices: status, outbox backlog, last seen, workflow running, decisions applied."""
    rows = fleet_ops.device_list(open_engine(db, create=False), fleet)
    _emit(rows, as_json, "\n".join(
        f"{r['fleet_id']}/{r['device_id']}: {r['state']}, backlog "
        f"{r['backlog'] if r['backlog'] is not None else '?'}, last seen "
        f"{r['last_seen'] or 'never'}, workflow "
        f"{r['workflow_id'] + ' v' + str(r['workflow_version']) if r['workflow_id'] else '?'}"
        + (f" (refused: {r['workflow_error']})" if r["workflow_error"] else "")
        for r in rows) or "no devices")


@workflow_app.command("publish")
def workflow_publish(path: Annotated[Path, typer.Argument(help="the workflow JSON file")],
                     fleet: Annotated[str, typer.Option("--fleet")], db: DbOpt = DEFAULT_DB,
                     by: ByOpt = None, as_json: JsonOpt = False) -> None:
    """Publish a workflow to every booth of the fleet (signed and retained by the running
    hub; each booth checks it before applying it and reports the version it runs)."""
    try:
        raw = read_input_file(path, max_bytes=fleet_ops.MAX_WORKFLOW_BYTES)
    except InputError as exc:
        raise ConsoleInputError(str(exc)) from None
    pub = fleet_ops.publish_workflow(open_engine(db), _actor(by), fleet, raw)
    _emit({"publication": pub, "fleet": fleet}, as_json,
          f"workflow publication {pub} queued for fleet {fleet}")


@workflow_app.command("list")
def workflow_list(fleet: Annotated[str | None, typer.Option(help="only this fleet")] = None,
                  db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Publications, newest first."""
    rows = fleet_ops.workflows(open_engine(db, create=False), fleet)
    _emit(rows, as_json, "\n".join(
        f"{r['publication']} {r['fleet_id']}: {r['workflow_id']} v{r['workflow_version']} by "
        f"{r['published_by']}, {'sent ' + r['sent_at'] if r['sent_at'] else 'not sent yet'}"
        for r in rows) or "no workflows published")


@erasure_app.command("request")
def erasure_request(vendor_data: Annotated[str, typer.Option("--vendor-data")],
                    fleet: Annotated[str, typer.Option("--fleet")],
                    reason: Annotated[str, typer.Option("--reason")],
                    db: DbOpt = DEFAULT_DB, by: ByOpt = None, as_json: JsonOpt = False) -> None:
    """Erase a person fleet-wide (done by the running hub's template worker; every booth
    confirms by its cursor: `poh hub erasure list`)."""
    rid = fleet_ops.request_erasure(open_engine(db), _actor(by), fleet, vendor_data, reason)
    _emit({"request": rid}, as_json, f"erasure request {rid} queued")


@erasure_app.command("list")
def erasure_list(fleet: Annotated[str | None, typer.Option(help="only this fleet")] = None,
                 db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Requests with their state and the booths that confirmed them."""
    rows = fleet_ops.erasures(open_engine(db, create=False), fleet)
    _emit(rows, as_json, "\n".join(
        f"{r['id']} {r['fleet_id']} (sha256 {r['vendor_digest']}): {r['state']}; confirmed "
        f"{', '.join(r['confirmed']) or '-'}; waiting for {', '.join(r['pending']) or '-'}"
        for r in rows) or "no erasure requests")


def mount(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")
    app.command(name="devices")(devices)
    app.add_typer(workflow_app, name="workflow")
    app.add_typer(erasure_app, name="erasure")
