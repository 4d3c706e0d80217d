"""The outcome of one session: the signed verdict exactly as stored, and what came with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.verdict import SignedVerdict


@dataclass(frozen=True)
class SessionResult:
    verdict: SignedVerdict
    verdict_bytes: bytes  # canonical, exactly as stored in the log and the outbox
    credential: str | None
    enrolled: bool
    frames_read: int
    source_end: str | None
    events: dict[str, int] = field(default_factory=dict)  # engine event type -> count
