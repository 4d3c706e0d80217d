"""Keep OpenVINO offline: its Python package phones home unless this module is imported first.

`import openvino` imports `openvino.tools.ovc` (the model converter), whose `__init__` builds an
`openvino_telemetry.Telemetry` and sends a "general_import" event. With no consent file, that
package takes consent for granted: it creates `~/intel/`, writes `~/intel/openvino_ga_cid` (a
client id) and `~/intel/stats`, and for each event starts a child process that resolves and posts
to Google Analytics, waiting up to 3 s for it. A booth promises to be offline and to write only
into its data, cache and config folders, so none of that may happen.

The telemetry package has no switch of its own that writes nothing (its opt-out is a file in
`~/intel`; its only other off switch, `CI=true`, would leak into every child process and mean
something else to other tools). Python has one: a `None` entry in `sys.modules` makes every
`import openvino_telemetry` fail with ImportError, and OpenVINO then falls back, by design, to
its own no-op `openvino.tools.ovc.telemetry_stub`. Nothing else of OpenVINO (runtime, frontends
reading TFLite/ONNX, compile) uses the telemetry package.

Import this module before anything that imports openvino: every entry point (the `poh` and
`poh-lab` CLIs, the PyInstaller entry, the kiosk and the hub) imports it first, and
inference.runtime imports it before openvino as a second line. Importing it is all it takes;
`block_telemetry()` is idempotent.
"""

from __future__ import annotations

import sys

TELEMETRY_PACKAGE = "openvino_telemetry"


def block_telemetry() -> None:
    """Make `import openvino_telemetry` fail for the rest of the process (OpenVINO then uses
    its no-op stub). Too late if OpenVINO was imported already: see `telemetry_blocked`."""
    if sys.modules.get(TELEMETRY_PACKAGE, None) is None:
        sys.modules[TELEMETRY_PACKAGE] = None  # type: ignore[assignment]


def telemetry_blocked() -> bool:
    """True when OpenVINO's telemetry package cannot be (and was not) loaded in this process."""
    return TELEMETRY_PACKAGE in sys.modules and sys.modules[TELEMETRY_PACKAGE] is None


block_telemetry()
