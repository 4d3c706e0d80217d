"""Didit's v3 session decision (GET /v3/session/{id}/decision/ and the webhook's `decision`):
feature results are arrays of blocks with a node_id; liveness as `liveness_checks`, with the
cross-session face matches (duplicates) inside them; warnings as objects with risk, log_type
and descriptions. Statuses are Didit's spelling. Features a booth does not run (documents,
1:1 face match, IP analysis, AML) are empty arrays, as Didit returns for a workflow without
them. Nothing biometric: no image or video URL (null, as Didit returns to a key without media
access), no template. `poh` is this hub's addition (what device signed what)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.vocabulary import FeatureStatus, LivenessMethod, SessionStatus

LogType = Literal["information", "warning", "error"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WarningObject(Model):
    feature: str = Field(description="The feature that raised it, e.g. LIVENESS")
    risk: str = Field(description="Stable code, e.g. LIVENESS_FACE_ATTACK")
    additional_data: dict[str, Any] | None = None
    log_type: LogType
    short_description: str
    long_description: str
    node_id: str


class FaceMatch(Model):
    """Another session whose face matched this one (a possible duplicate)."""

    session_id: str | None
    session_number: int | None
    similarity_percentage: float = Field(ge=0, le=100)
    source: Literal["session"] = "session"
    vendor_data: str | None
    verification_date: str | None
    user_details: None = None
    match_image_url: None = None
    status: SessionStatus | None
    is_blocklisted: bool
    is_allowlisted: bool = False


class LivenessCheck(Model):
    node_id: str
    status: FeatureStatus
    method: LivenessMethod
    score: float | None = Field(ge=0, le=100)
    reference_image: None = None
    video_url: None = None
    age_estimation: float | None
    matches: list[FaceMatch]
    face_quality: float | None = None
    face_luminance: float | None = None
    warnings: list[WarningObject]


class Review(Model):
    """A reviewer's decision at the hub (the review console)."""

    user: str | None
    new_status: SessionStatus
    comment: str | None
    created_at: str


class CaptureSourceInfo(Model):
    kind: str
    detail: str


class PohDetails(Model):
    """This hub's addition: the booth that signed the verdict and how it reached the hub."""

    fleet_id: str
    device_id: str
    sequence: int
    booth_status: SessionStatus
    capture_source: CaptureSourceInfo
    verdict_sha256: str
    decided_at: str
    received_at: str
    reason: str | None


class Decision(Model):
    session_id: str
    session_number: int
    session_url: None = None
    status: SessionStatus
    workflow_id: str
    workflow_version: int
    features: list[str]
    vendor_data: str | None
    metadata: dict[str, Any] | None = None
    callback: None = None
    id_verifications: list[Any] = Field(default_factory=list)
    nfc_verifications: list[Any] = Field(default_factory=list)
    liveness_checks: list[LivenessCheck]
    face_matches: list[Any] = Field(default_factory=list)
    phone_verifications: list[Any] = Field(default_factory=list)
    email_verifications: list[Any] = Field(default_factory=list)
    poa_verifications: list[Any] = Field(default_factory=list)
    aml_screenings: list[Any] = Field(default_factory=list)
    ip_analyses: list[Any] = Field(default_factory=list)
    database_validations: list[Any] = Field(default_factory=list)
    reviews: list[Review]
    created_at: str
    poh: PohDetails
