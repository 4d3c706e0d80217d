"""What the face store answers: search hits, erasure and statistics (frozen records)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.face_index import IndexStats


@dataclass(frozen=True)
class Match:
    template_id: int
    kind: str
    vendor_data: str | None
    reason: str | None
    session_id: str | None
    cosine: float


@dataclass(frozen=True)
class SearchHits:
    enrolled: tuple[Match, ...]
    blocklist: tuple[Match, ...]


@dataclass(frozen=True)
class ForgetResult:
    vendor_data: str
    templates: int
    sessions: int
    verdicts: int
    session_ids: tuple[str, ...] = ()  # for the caller to erase what it keeps per session


@dataclass(frozen=True)
class StoreStats:
    db_path: str
    db_bytes: int
    schema_version: int
    key_generation: int
    templates: dict[str, int]
    sessions: int
    verdicts: int
    outbox_pending: int
    index: dict[str, IndexStats]
    index_start: dict[str, str]
    snapshot_bytes: dict[str, int]
    stray_templates: int = 0  # of another key generation than the database's: `poh keys repair`
