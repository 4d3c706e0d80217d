"""PyInstaller entry point: the same `poh` command as the console script (the CLI, and
`poh kiosk`, the kiosk application), after checking the bundled models by sha256."""

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
import os
import sys

from app.kiosk.bundle_check import model_problem, needs_check
from app.launcher import main
from app.paths import models_dir

if __name__ == "__main__":
    if not any(os.environ.get(v) for v in ("LC_ALL", "LC_CTYPE", "LANG")):
        # a booth started with an empty environment (a bare service, `env -i`): Qt would switch
        # to this itself, with a warning on every start
        os.environ["LC_ALL"] = "C.UTF-8"
    if needs_check(sys.argv[1:]):
        problem = model_problem(models_dir())
        if problem is not None:
            sys.stderr.write(f"poh: error: {problem}\n")
            sys.exit(1)
    main()
