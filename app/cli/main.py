"""Entry point of the `poh` console script: sub-commands and the exit-code contract.

Exit codes: 0 success, 2 bad input (one line on stderr; a JSON object there under --json), 1
internal failure, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
import importlib.metadata
import json
import logging
import sys
from typing import Annotated

import click
import typer

from app.cli import (
    camera_cmd,
    check_cmd,
    credential_cmd,
    doctor_cmd,
    evidence_cmd,
    fleet_cmd,
    liveness_cmd,
    models_cmd,
    operator_cmd,
    session_cmd,
    store_cmd,
    sync_cmd,
    verdict_cmd,
    workflow_cmd,
)
from app.errors import BadInputError
from app.workflows import WorkflowError
from inference.model_store import ModelMissingError
from inference.packages import FetchError

log = logging.getLogger(__name__)

app = typer.Typer(
    name="poh",
    help="Offline Proof-of-Human kiosk: liveness, 1:N face search and signed verdicts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models_cmd.app, name="models")
app.add_typer(workflow_cmd.app, name="workflow")
app.add_typer(session_cmd.app, name="session")
app.add_typer(verdict_cmd.app, name="verdict")
app.add_typer(credential_cmd.app, name="credential")
app.add_typer(liveness_cmd.app, name="liveness")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(operator_cmd.app, name="operator")
app.add_typer(sync_cmd.app, name="sync")
app.add_typer(fleet_cmd.app, name="fleet")
app.add_typer(camera_cmd.app, name="camera")
check_cmd.register(app)
store_cmd.register(app)
doctor_cmd.register(app)
verdict_cmd.attach_keys_show(store_cmd.keys_app)


# Commands of the lab (`poh-lab`), named here only to point a user there.
LAB_COMMANDS = frozenset({"demo", "data", "sim", "eval", "bench"})


# The project's own loggers; -v and -vv open these only. Third-party loggers (Pillow logs every
# EXIF tag of a photo at DEBUG, urllib3 every URL) stay at WARNING however verbose the CLI is.
OWN_LOGGERS = ("app", "inference", "storage", "sync")


def _own_or_warning(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING:
        return True
    return any(record.name == n or record.name.startswith(n + ".") for n in OWN_LOGGERS)


def configure_logging(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging.")] = 0,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    root = logging.getLogger()
    if not root.handlers:  # a host (pytest, the kiosk) that set up logging keeps its handlers
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_own_or_warning)  # also a third-party logger that set its own level
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


app.callback()(configure_logging)


VERBOSE_FLAGS = frozenset({"-v", "-vv", "--verbose"})
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def _fail(prog: str, code: int, msg: str, as_json: bool = False) -> int:
    first = msg.strip().splitlines()[0] if msg.strip() else "failed"
    if as_json:  # a caller that asked for JSON parses stderr too
        sys.stderr.write(json.dumps({"error": {"exit_code": code, "message": first}}) + "\n")
    else:
        sys.stderr.write(f"{prog}: error: {first}\n")
    return code


def _verbosity_first(args: list[str]) -> list[str]:
    """-v/-vv/--verbose belong to the top-level callback; accept them after a sub-command too
    (typer refuses them there) by moving them to the front. Nothing after `--` is touched."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in VERBOSE_FLAGS]
    rest = [a for a in args[:end] if a not in VERBOSE_FLAGS]
    return [*flags, *rest, *args[end:]]


def package_version() -> str:
    try:
        return importlib.metadata.version("poh-kiosk")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree never installed
        return "unknown"


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by tests and by main)."""
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    if first in LAB_COMMANDS:
        return _fail("poh", 2, f"`{first}` is a lab command: run `poh-lab {first} ...` "
                               f"(the lab is not part of the booth)", "--json" in args)
    return run_app(app, "poh", args)


def run_app(app: typer.Typer, prog: str, argv: list[str] | None) -> int:
    """Run a typer app under the exit-code contract: 0 ok, 2 bad input, 1 internal failure."""
    args = _verbosity_first(sys.argv[1:] if argv is None else list(argv))
    if args[:1] == ["--version"]:
        sys.stdout.write(f"{prog} {package_version()}\n")
        return 0
    as_json = "--json" in args[: args.index("--") if "--" in args else len(args)]
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=args, prog_name=prog, standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer turns Ctrl-C into Exit(130)
            return _fail(prog, EXIT_INTERRUPTED, "interrupted", as_json)
        return int(exc.exit_code)
    except (typer.Abort, click.exceptions.Abort) as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            return _fail(prog, EXIT_INTERRUPTED, "interrupted", as_json)
        return _fail(prog, 1, "aborted", as_json)
    except (typer.TyperException, click.ClickException) as exc:
        # typer vendors its own click: usage errors arrive as TyperException subclasses
        if getattr(exc, "__class__", type(exc)).__name__ == "NoArgsIsHelpError":
            return 2
        fmt = getattr(exc, "format_message", None)
        return _fail(prog, 2, fmt() if callable(fmt) else str(exc), as_json)
    except (BadInputError, WorkflowError) as exc:
        # a workflow named by any command (check, enroll, search, sessions, the lab's
        # evaluations) that cannot be used is bad input, mapped here once for all of them
        return _fail(prog, 2, str(exc), as_json)
    except (ModelMissingError, FetchError) as exc:
        return _fail(prog, 1, str(exc), as_json)
    except KeyboardInterrupt:
        return _fail(prog, EXIT_INTERRUPTED, "interrupted", as_json)
    except Exception as exc:
        log.debug("internal failure", exc_info=True)
        return _fail(prog, 1, f"internal failure: {type(exc).__name__}: {exc}", as_json)
    if rv == EXIT_INTERRUPTED:  # typer returns Ctrl-C as this code in non-standalone mode
        return _fail(prog, EXIT_INTERRUPTED, "interrupted", as_json)
    return int(rv) if isinstance(rv, int) else 0


def main() -> None:
    sys.exit(run())
