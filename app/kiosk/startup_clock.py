"""How long ago this process started, for the cold-start figure of `poh kiosk --report-startup`.

Counted from the kernel's start time of the process (Linux /proc), so a frozen bundle's own
unpacking and library loading before Python runs are in the figure, not only the Python imports.
The CPU time spent by then goes with it: on a shared, loaded machine the wall time mostly says how
long the process waited for a core.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

_IMPORTED_AT = time.monotonic()  # the fallback where /proc is not available


def seconds_since_process_start() -> float:
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text(encoding="ascii")
        uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
        # the fields after the command name (which may hold spaces and parentheses);
        # starttime is field 22 of the line, the 20th after the name
        started_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


def cpu_seconds() -> float:
    """User and system CPU time of this process so far, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
