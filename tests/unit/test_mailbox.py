"""The latest-only mailbox between the camera thread and its readers (real threads, no sleeps)."""

from __future__ import annotations

import threading

import numpy as np

from app.capture.mailbox import Frame, LatestFrameMailbox

JOIN = 10.0  # seconds: a generous bound for a hung thread, never a timing assertion


def _frame(seq: int) -> Frame:
    return Frame(np.full((2, 2, 3), seq % 256, np.uint8), float(seq), seq)


def test_get_returns_only_the_latest_and_counts_drops() -> None:
    box = LatestFrameMailbox()
    for seq in range(5):
        assert box.put(_frame(seq))
    got = box.get(0)
    assert got is not None and got.seq == 4 and got.t == 4.0
    assert box.dropped == 4 and box.put_count == 5 and box.taken == 1
    assert box.get(0) is None  # read once: the slot is empty, never a queue


def test_get_times_out_empty() -> None:
    box = LatestFrameMailbox()
    assert box.get(0.01) is None
    assert box.dropped == 0


def test_close_wakes_a_waiting_reader_and_refuses_puts() -> None:
    box = LatestFrameMailbox()
    got: list[Frame | None] = []
    waiting = threading.Event()

    def reader() -> None:
        waiting.set()
        got.append(box.get(None))  # would wait for ever without close()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert waiting.wait(JOIN)
    box.close()
    thread.join(JOIN)
    assert not thread.is_alive()
    assert got == [None]
    assert box.closed
    assert not box.put(_frame(1))
    assert box.get(0) is None


def test_unread_frame_survives_close() -> None:
    box = LatestFrameMailbox()
    box.put(_frame(7))
    box.close()
    got = box.get(0)
    assert got is not None and got.seq == 7


def test_concurrent_producer_reader_sees_increasing_latest_frames() -> None:
    box = LatestFrameMailbox()
    total = 2000

    def producer() -> None:
        for seq in range(total):
            box.put(_frame(seq))
        box.close()

    seen: list[int] = []
    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    while True:
        frame = box.get(JOIN)
        if frame is None:
            break
        seen.append(frame.seq)
    thread.join(JOIN)
    assert not thread.is_alive()
    assert seen, "the reader got no frame"
    assert seen == sorted(set(seen))  # newer each time, never the same frame twice
    assert seen[-1] == total - 1  # the last frame put is the one left for the reader
    # every frame put was either read or replaced unread: nothing queued, nothing lost silently
    assert box.taken == len(seen)
    assert box.dropped + box.taken == box.put_count == total
