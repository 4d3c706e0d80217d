"""Progress for long CLI work (model fetch, index builds, evaluations, benchmarks), on stderr so
that stdout stays parseable.

What is drawn depends on where stderr goes (`POH_PROGRESS` overrides it):
- a terminal (or `POH_PROGRESS=bar`): a rich bar with done/total, elapsed and time left, erased
  when the work ends; also under `--json`, as a terminal is a person and not a parser;
- anything else (a pipe, a CI log, or `POH_PROGRESS=lines`): one plain line, without escape
  codes, at most every LINE_INTERVAL_S seconds and when a phase completes; nothing under
  `--json`, where stderr carries only the JSON error object;
- `POH_PROGRESS=off`: nothing.

The work below the CLI never sees this module: it takes plain callbacks (`count(done, total)`,
and for the odd phase name `note(text)`), so no library imports rich.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

Mode = Literal["bar", "lines", "off"]

MODE_ENV = "POH_PROGRESS"
LINE_INTERVAL_S = 5.0  # plain lines: often enough to show life in a log, rare enough to read
BAR_WIDTH = 20
# the bar's line but the label, the bar, the counts and the phase text: two clocks of 7,
# "elapsed," and "left", and the spaces between the columns
FIXED_COLUMNS = 7 + 8 + 7 + 4 + 7
MIN_WHAT = 10  # less room than this: the phase text is left out rather than cut to nothing


def progress_mode(stream: TextIO, as_json: bool, env: Mapping[str, str] | None = None) -> Mode:
    """bar, lines or off for this stream (see the module doc)."""
    wanted = (os.environ if env is None else env).get(MODE_ENV, "auto").strip().lower()
    if wanted == "off":
        return "off"
    if wanted == "bar" or (wanted != "lines" and _is_terminal(stream)):
        return "bar"
    return "off" if as_json else "lines"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


def _clock_text(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ProgressReport:
    """One display for one command: count(done, total) per item, note(text) for a new phase,
    step(done, total, what) for both at once. A count whose total changes, that goes
    backwards, or that follows a completed phase starts a new phase (its own elapsed time and
    time left)."""

    def __init__(self, label: str, stream: TextIO, mode: Mode, *,
                 clock: Callable[[], float] = time.monotonic,
                 interval: float = LINE_INTERVAL_S, time_left: bool = True) -> None:
        self.label = label
        self._time_left = time_left
        # a real clock refreshes the bar on its own (elapsed time moves during a slow step)
        self._auto_refresh = clock is time.monotonic
        self.mode = mode
        self._stream = stream
        self._clock = clock
        self._interval = interval
        self._what = ""
        self._sticky = True
        self._total: int | None = None
        self._done = 0
        self._started = clock()  # of the phase
        self._first: tuple[float, int] | None = None  # (time, done) of the phase's first count
        self._noted: float | None = None  # when a note came since the last count
        self._last_line = self._started
        self._bar: Any = None
        self._width = 80
        self._log_streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._task: Any = None

    # --- the callbacks handed to the work ------------------------------------------------

    def count(self, done: int, total: int) -> None:
        self.step(done, total, self._what if self._sticky else "")

    def note(self, what: str, sticky: bool = True) -> None:
        """Name what is being done now. If the counts that follow start a new phase, the
        phase began at this note (its set-up counts as its time). sticky=False: set-up before
        the counts (loading the models), not a name for them."""
        self._what, self._sticky = what, sticky
        self._noted = self._clock()
        if self.mode == "lines":
            self._write(f"{self.label}: {what}")
        elif self.mode == "bar":
            self._bar_update()

    def step(self, done: int, total: int, what: str = "") -> None:
        now = self._clock()
        if self._total is not None and (total != self._total or done < self._done
                                        or self._done >= self._total):
            self._new_phase(now if self._noted is None else self._noted, total)
        self._noted = None
        if self._first is None:
            self._first = (now, done)
        self._total, self._done, self._what, self._sticky = total, done, what, True
        if self.mode == "lines":
            if done >= total or now - self._last_line >= self._interval:
                self._last_line = now
                self._write(self.line(now))
        elif self.mode == "bar":
            self._bar_update()

    def _new_phase(self, start: float, total: int) -> None:
        self._started, self._last_line, self._first = start, start, None
        if self._bar is not None:
            self._bar.reset(self._task, total=max(total, 0), completed=0)
            self._bar.tasks[0].start_time = start

    # --- rendering ---------------------------------------------------------------------------

    def line(self, now: float | None = None) -> str:
        """The plain line: `label what: done/total (pct), H:MM:SS elapsed, about H:MM:SS left`."""
        now = self._clock() if now is None else now
        total = self._total or 0
        elapsed = now - self._started
        head = f"{self.label} {self._what}" if self._what else self.label
        parts = [f"{head}: {self._done}/{total}"]
        if total > 0:
            parts[0] += f" ({100 * self._done // total}%)"
        parts.append(f"{_clock_text(elapsed)} elapsed")
        left = self.seconds_left(now) if self._time_left else None
        if left is not None:
            parts.append(f"about {_clock_text(left)} left")
        return ", ".join(parts)

    def seconds_left(self, now: float) -> float | None:
        """At the rate since the phase's first count (set-up before it, such as loading the
        models, is not work that the rest will repeat); None until there is a rate."""
        total = self._total or 0
        if self._first is None or not 0 < self._done < total:
            return None
        t0, d0 = self._first
        if self._done > d0 and now > t0:
            return (now - t0) * (total - self._done) / (self._done - d0)
        return None

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def _bar_update(self) -> None:
        if self._bar is None:
            self._start_bar()
        self._bar.update(self._task, completed=self._done, total=self._total,
                         what=self._fitted_what())
        if not self._bar.live.auto_refresh:
            self._bar.refresh()

    def _fitted_what(self) -> str:
        """The phase text cut to what the terminal's line leaves after the label, the bar,
        the counts and the times (rich would squeeze those instead); dropped if little is left."""
        digits = 2 * len(str(self._total or 0)) + 1
        room = self._width - (len(self.label) + BAR_WIDTH + digits + FIXED_COLUMNS)
        if room < MIN_WHAT or not self._what:
            return ""
        return self._what if len(self._what) <= room else self._what[:room - 1] + "…"

    def _start_bar(self) -> None:
        """Drawn from the first count or note on: a command that may have long work (an index
        that may need a rebuild) shows nothing when it has none."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # force_terminal: POH_PROGRESS=bar draws into a pipe too (tests, `script` logs)
        console = Console(file=self._stream, force_terminal=True)
        self._width = console.width
        bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=BAR_WIDTH),
                       MofNCompleteColumn(),
                       TimeElapsedColumn(),
                       *((TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left"))
                         if self._time_left else (TextColumn("elapsed"),)),
                       TextColumn("{task.fields[what]}"), console=console,
                       transient=True, auto_refresh=self._auto_refresh, get_time=self._clock,
                       # stdout is the command's result: never drawn through the bar's console
                       redirect_stdout=False, redirect_stderr=False)
        self._task = bar.add_task(self.label, total=self._total, completed=self._done,
                                  what=self._fitted_what())
        # the phase began before the bar was drawn
        bar.tasks[0].start_time = self._started
        bar.start()
        self._bar = bar
        self._logs_above(console)

    def _logs_above(self, console: Any) -> None:
        """Log lines (-v) written to the bar's stream go above the bar while it is drawn,
        instead of into the middle of its line."""
        from rich.file_proxy import FileProxy

        proxy = FileProxy(console, self._stream)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
                self._log_streams.append((handler, handler.setStream(proxy)))

    def close(self) -> None:
        """Erase the bar (if one was drawn); log lines go to the stream again."""
        if self._bar is not None:
            for handler, stream in self._log_streams:
                handler.flush()
                handler.setStream(stream)
            self._log_streams.clear()
            self._bar.stop()
            self._bar = None


@contextmanager
def progress_report(label: str, as_json: bool = False, *, stream: TextIO | None = None,
                    clock: Callable[[], float] = time.monotonic,
                    interval: float = LINE_INTERVAL_S,
                    env: Mapping[str, str] | None = None,
                    time_left: bool = True) -> Iterator[ProgressReport]:
    """The display of one long command; pass its `count`/`note`/`step` to the work.
    time_left=False: counts of unequal steps (a face-index build's three stages, the middle one
    nearly all of the time), from which a time left would be a wrong guess."""
    out = sys.stderr if stream is None else stream
    report = ProgressReport(label, out, progress_mode(out, as_json, env), clock=clock,
                            interval=interval, time_left=time_left)
    try:
        yield report
    finally:
        report.close()
