"""Responses of the hub's own endpoints (the Didit-shaped ones are in decision.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthCheck(BaseModel):
    check: str  # database, broker, webhooks, disk
    status: Literal["ok", "warn", "FAIL", "skip"]
    detail: str


class Health(BaseModel):
    """ok, warn (200) or FAIL (503): the worst of the checks."""

    status: Literal["ok", "warn", "FAIL"]
    checks: list[HealthCheck]


class SessionSummary(BaseModel):
    session_id: str
    session_number: int
    status: str
    vendor_data: str | None
    workflow_id: str
    workflow_version: int
    device_id: str
    created_at: str
    updated_at: str


class SessionList(BaseModel):
    """A page of sessions, newest first (Django REST framework's limit/offset shape)."""

    count: int
    next: str | None
    previous: str | None
    results: list[SessionSummary]


class Delivery(BaseModel):
    event_id: str
    endpoint: str
    session_id: str
    webhook_type: str
    status: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    created_at: str


class DeliveryList(BaseModel):
    results: list[Delivery]


class Resent(BaseModel):
    queued: int


class FaceEntity(BaseModel):
    age: float | None
    bbox: list[int]
    confidence: float


class UserImage(BaseModel):
    entities: list[FaceEntity]
    best_angle: int = 0


class StandaloneWarning(BaseModel):
    """Didit's standalone warnings: the workflow warning object without node_id."""

    feature: str
    risk: str
    additional_data: dict[str, object] | None = None
    log_type: Literal["information", "warning", "error"]
    short_description: str
    long_description: str


class PassiveLivenessResult(BaseModel):
    status: str
    method: Literal["PASSIVE"] = "PASSIVE"
    score: float | None
    user_image: UserImage
    warnings: list[StandaloneWarning]
    face_quality: float | None
    face_luminance: float | None


class PassiveLivenessResponse(BaseModel):
    request_id: str
    liveness: PassiveLivenessResult
    vendor_data: str | None
    metadata: dict[str, object] | None
    created_at: str
