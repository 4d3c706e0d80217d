"""`poh doctor`'s clock check against the build time (the verdict side needs a database: the
integration tests)."""

from __future__ import annotations

from app.kiosk.doctor import check_clock

BUILT = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def test_clock_before_build_fails() -> None:
    c = check_clock(None, now=BUILT - 86_400, built=BUILT)
    assert c.status == "FAIL"
    assert "before this software was built (2026-09-21T14:13:20Z" in c.detail


def test_clock_after_build_is_ok() -> None:
    c = check_clock(None, now=BUILT + 60, built=BUILT)
    assert c.status == "ok" and "no verdict yet" in c.detail
