"""The CLI's progress display: plain rate-limited lines off a terminal, a bar with counts and time
left on one, nothing under --json off a terminal, and the choice POH_PROGRESS overrides."""

from __future__ import annotations

import io
import re

import pytest

from app.cli.progress_bar import progress_mode, progress_report

ESCAPE = re.compile("\x1b")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_mode_follows_the_stream_and_json_and_the_environment() -> None:
    pipe, tty = io.StringIO(), Tty()
    assert progress_mode(pipe, False, {}) == "lines"
    assert progress_mode(pipe, True, {}) == "off"  # stderr carries only the JSON error
    assert progress_mode(tty, False, {}) == "bar"
    assert progress_mode(tty, True, {}) == "bar"  # a terminal is a person, not a parser
    assert progress_mode(pipe, True, {"POH_PROGRESS": "bar"}) == "bar"
    assert progress_mode(tty, False, {"POH_PROGRESS": "lines"}) == "lines"
    assert progress_mode(tty, False, {"POH_PROGRESS": "off"}) == "off"
    assert progress_mode(pipe, False, {"POH_PROGRESS": "nonsense"}) == "lines"


def test_plain_lines_are_rate_limited_and_carry_counts_elapsed_and_time_left() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_report("eval active trials", stream=out, clock=clock, interval=5.0,
                         env={}) as report:
        clock.now += 3.0  # loading the models: before the first count
        for done in range(1, 11):
            clock.now += 2.0
            report.count(done, 10)
    lines = out.getvalue().splitlines()
    assert not ESCAPE.search(out.getvalue())
    # counts every 2 s from 5 s on; a line at most every 5 s, and the last one; the time left
    # is at the rate since the first count (2 s a trial), the set-up before it left out: none
    # with one count
    assert lines == [
        "eval active trials: 1/10 (10%), 0:00:05 elapsed",
        "eval active trials: 4/10 (40%), 0:00:11 elapsed, about 0:00:12 left",
        "eval active trials: 7/10 (70%), 0:00:17 elapsed, about 0:00:06 left",
        "eval active trials: 10/10 (100%), 0:00:23 elapsed",
    ]


def test_a_new_total_or_a_count_going_back_starts_a_phase_and_notes_print() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_report("eval pad", stream=out, clock=clock, interval=60.0, env={}) as report:
        report.note("rendering")
        for done in (1, 2):
            clock.now += 10.0
            report.count(done, 2)
        report.note("analysing")
        clock.now += 1.0
        report.count(1, 2)
        clock.now += 1.0
        report.count(2, 2)
    assert out.getvalue().splitlines() == [
        "eval pad: rendering",
        "eval pad rendering: 2/2 (100%), 0:00:20 elapsed",
        "eval pad: analysing",
        "eval pad analysing: 2/2 (100%), 0:00:02 elapsed",  # its own phase: not 0:00:22
    ]


def test_a_count_after_a_completed_phase_starts_the_next_one() -> None:
    """eval pad renders 9 frames, then reports its analysis of the 9 only when done."""
    clock, out = FakeClock(), io.StringIO()
    with progress_report("eval pad", stream=out, clock=clock, interval=60.0, env={}) as report:
        for done in range(1, 10):
            clock.now += 2.0
            report.count(done, 9)
        report.note("analysing")
        clock.now += 5.0
        report.count(9, 9)
    assert out.getvalue().splitlines()[-1] == "eval pad analysing: 9/9 (100%), 0:00:05 elapsed"


def test_a_set_up_note_prints_at_once_and_does_not_name_the_counts() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_report("eval active trials", stream=out, clock=clock, env={}) as report:
        report.note("loading the models", sticky=False)
        clock.now += 20.0
        report.count(1, 1)
    assert out.getvalue().splitlines() == ["eval active trials: loading the models",
                                           "eval active trials: 1/1 (100%), 0:00:20 elapsed"]


@pytest.mark.parametrize("mode", ["lines", "bar"])
def test_unequal_steps_show_no_time_left(mode: str) -> None:
    clock, out = FakeClock(), Tty()
    with progress_report("face index build stages", stream=out, clock=clock, interval=0.0,
                         env={"POH_PROGRESS": mode}, time_left=False) as report:
        for done, took in ((1, 1.0), (2, 60.0), (3, 0.5)):  # read, build the graph, snapshot
            clock.now += took
            report.count(done, 3)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "2/3" in plain and "0:01:01 elapsed" in plain
    assert "left" not in plain


def test_json_off_a_terminal_writes_nothing() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_report("bench index", as_json=True, stream=out, clock=clock,
                         env={}) as report:
        report.note("building")
        for done in range(1, 4):
            clock.now += 30.0
            report.step(done, 3, "step")
    assert out.getvalue() == ""


def test_off_writes_nothing_even_on_a_terminal() -> None:
    out = Tty()
    with progress_report("x", stream=out, clock=FakeClock(), env={"POH_PROGRESS": "off"}) as r:
        r.count(1, 1)
    assert out.getvalue() == ""


def test_the_bar_shows_count_elapsed_and_time_left_then_erases_itself() -> None:
    clock, out = FakeClock(), Tty()
    with progress_report("eval active trials", stream=out, clock=clock, env={}) as report:
        for done in range(1, 4):
            clock.now += 2.0
            report.count(done, 8)
        drawn = out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert "eval active trials" in plain and "3/8" in plain
    assert "0:00:06 elapsed" in plain  # three counts, 2 s apart, from the start
    assert re.search(r"0:00:\d\d left", plain)
    assert ESCAPE.search(drawn)  # drawn for a terminal
    tail = out.getvalue()[len(drawn):]
    assert "\x1b[2K" in tail  # transient: the bar's line is cleared at the end


def test_step_names_what_each_count_is_about(monkeypatch: pytest.MonkeyPatch) -> None:
    """poh models fetch and poh-lab data fetch: (done, total, package) per package; the report
    writes to stderr by default."""
    from app.cli import progress_bar

    out = io.StringIO()
    monkeypatch.setattr(progress_bar.sys, "stderr", out)
    monkeypatch.setenv("POH_PROGRESS", "lines")
    with progress_report("models") as report:
        report.step(1, 2, "antispoof")
        report.step(2, 2, "done")
    assert out.getvalue() == "models done: 2/2 (100%), 0:00:00 elapsed\n"


def test_log_lines_go_above_the_bar_and_back_to_the_stream_after() -> None:
    """-v under a bar: each log line whole on its own line, then the handler as it was."""
    import logging

    out = Tty()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        clock = FakeClock()
        with progress_report("eval active trials", stream=out, clock=clock, env={}) as report:
            report.count(1, 4)
            logging.getLogger("app.test").warning("a log line")
        assert handler.stream is out
    finally:
        root.removeHandler(handler)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()).replace("\r", "\n")
    assert "a log line" in plain.splitlines()  # a line of its own, not glued to the bar


def test_the_bar_is_drawn_only_once_there_is_something_to_show() -> None:
    """`poh search` opens the face store, which may have to build the index: no build, no bar."""
    out = Tty()
    with progress_report("face index build", stream=out, clock=FakeClock(), env={}):
        pass
    assert out.getvalue() == ""


def test_a_long_phase_text_is_cut_so_the_bar_fits_a_terminal() -> None:
    clock, out = FakeClock(), Tty()
    with progress_report("eval pad", stream=out, clock=clock, env={}) as report:
        report.note("rendering 180 simulated frames (heldout settings and portraits)")
        clock.now += 1.0
        report.count(1, 180)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    last = plain.replace("\r", "\n").splitlines()[-2]  # the last frame before it is erased
    assert "1/180 0:00:01 elapsed, -:--:-- left" in last  # rich's unknown time left: one count
    assert len(last) <= 80  # the width rich gives a stream it cannot measure
    assert "rendering" in last and last.endswith("…")
