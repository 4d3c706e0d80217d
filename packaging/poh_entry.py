"""PyInstaller entry point: the same `poh` command as the console script."""

# First of all, before anything imports openvino: keeps OpenVINO's telemetry from loading.
import inference.offline  # noqa: F401

# isort: split
from app.cli.main import main

if __name__ == "__main__":
    main()
