"""Didit's standalone face search response (POST /v3/face-search/): the matches (sessions whose
enrolled face matched, with a similarity percentage), the faces found in the upload (box and
detector confidence only) and the warnings. No template, embedding or image leaves the hub."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from sync.hub.api.defs.decision import FaceMatch


class SearchEntity(BaseModel):
    bbox: list[int]
    confidence: float


class SearchUserImage(BaseModel):
    entities: list[SearchEntity]
    best_angle: int = 0


class FaceSearchWarning(BaseModel):
    risk: str
    additional_data: dict[str, object] | None = None
    log_type: Literal["information", "warning", "error"]
    short_description: str
    long_description: str


class FaceSearchResult(BaseModel):
    status: str
    total_matches: int
    matches: list[FaceMatch]
    user_image: SearchUserImage
    warnings: list[FaceSearchWarning]


class FaceSearchResponse(BaseModel):
    request_id: str
    face_search: FaceSearchResult
    vendor_data: str | None
    metadata: dict[str, object] | None
    created_at: str
