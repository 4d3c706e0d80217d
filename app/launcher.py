"""The `poh` console script: `poh kiosk ...` starts the kiosk application (Qt); every other command
is the product CLI, which stays Qt-free (pyproject [tool.importlinter]). Kept apart from app.cli
so that the CLI never imports Qt and `poh verdict verify` never loads PySide6.
"""

from __future__ import annotations

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
import sys

KIOSK = "kiosk"
HUB = "hub"  # the fleet's hub (sync.hub): not part of a booth build (poh.spec excludes it)


def run(argv: list[str]) -> int:
    """The exit code of `poh ARGV...`."""
    first = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if first is not None and argv[first] == KIOSK:
        # Qt is loaded only for the kiosk (a plain import, visible to the import contracts)
        from app.kiosk_main import main as kiosk_main

        return kiosk_main(argv[:first] + argv[first + 1:])
    if first is not None and argv[first] == HUB:
        try:
            from sync.hub.cli import run_cli as hub_run
        except ImportError as exc:
            sys.stderr.write(f"poh: error: `poh hub` is not part of this build ({exc.name})\n")
            return 2
        return hub_run(argv[:first] + argv[first + 1:])
    from app.cli.main import run as cli_run

    return cli_run(argv)


def main() -> None:
    sys.exit(run(sys.argv[1:]))
