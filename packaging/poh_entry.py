"""PyInstaller entry point: the same `poh` command as the console script (the CLI, and
`poh kiosk`, the kiosk application)."""

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
from app.launcher import main

if __name__ == "__main__":
    main()
