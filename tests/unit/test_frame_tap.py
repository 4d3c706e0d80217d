"""The challenge recorder: latest-only for its reader, every frame kept while armed, capped."""

from __future__ import annotations

import numpy as np

from app.capture.frame_tap import FrameTap
from app.capture.mailbox import Frame


def _frame(i: int) -> Frame:
    return Frame(np.full((2, 2, 3), i, np.uint8), float(i), i)


def test_keeps_every_frame_only_while_armed() -> None:
    tap = FrameTap()
    tap.put(_frame(0))  # before arming: not kept
    tap.arm()
    for i in range(1, 6):
        tap.put(_frame(i))
    frames, overflow = tap.disarm()
    tap.put(_frame(6))  # after: not kept
    assert [t for t, _ in frames] == [1.0, 2.0, 3.0, 4.0, 5.0] and not overflow
    assert int(frames[2][1][0, 0, 0]) == 3
    got = tap.get(0)  # the reader still gets only the newest frame
    assert got is not None and got.seq == 6 and tap.dropped == 6
    assert tap.disarm() == ([], False)  # handed over once


def test_cap_reports_overflow_and_rearming_starts_afresh() -> None:
    tap = FrameTap(max_frames=3)
    tap.arm()
    for i in range(5):
        tap.put(_frame(i))
    frames, overflow = tap.disarm()
    assert len(frames) == 3 and overflow
    tap.arm()
    tap.put(_frame(9))
    assert [t for t, _ in tap.disarm()[0]] == [9.0]
