"""Ctrl-C during an nmslib call: noted, and raised once the call is done (nmslib caught the
KeyboardInterrupt raised inside its logging callback, printed it raw and dropped it, so an
interrupted `poh db reindex` or `poh-lab bench index` carried on and exited 0)."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from storage.hnsw_graph import interrupts_deferred


def test_an_interrupt_inside_is_raised_after_the_call_completes() -> None:
    before = signal.getsignal(signal.SIGINT)
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append(str(np.arange(3).sum()))  # Python runs on: the handler only notes
            done.append("finished")
    assert done == ["3", "finished"]
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_no_interrupt_no_exception_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is before


def test_a_background_build_thread_leaves_signals_alone() -> None:
    """Only the main thread may set handlers: a kiosk's background rebuild must not fail."""
    seen: list[object] = []

    def build() -> None:
        with interrupts_deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=build)
    t.start()
    t.join()
    assert seen == [signal.getsignal(signal.SIGINT)]
