"""The workflow document: which checks a session runs and the thresholds that decide it.

Field names follow Didit's workflow vocabulary (features LIVENESS, FACE_SEARCH, AGE_ESTIMATION;
face_liveness_score_decline_threshold). Unknown keys are refused everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sync.vocabulary import DuplicateAction, LivenessMethod, WarningCode

# Every number a workflow holds is bounded and finite: what `poh workflow validate` accepts, a
# session must be able to run and sign (a signed verdict carries integers up to 2**53 - 1 only).
MAX_SAFE_INTEGER = 2**53 - 1
DAY = 86_400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False,
                              allow_inf_nan=False)


class LivenessConfig(_Strict):
    method: LivenessMethod = LivenessMethod.PASSIVE
    # Keep the challenge recording (face images) encrypted on the kiosk for later review;
    # active methods only, off unless the deployment asks for it.
    retain_evidence: bool = False
    # Also send a few downscaled frames of the kept recording, sealed, to the fleet's hub when
    # the session ends In Review, so that its reviewer sees them (app.kiosk.evidence_sync).
    sync_evidence: bool = False

    @model_validator(mode="after")
    def _evidence_needs_a_challenge(self) -> LivenessConfig:
        if self.retain_evidence and self.method is LivenessMethod.PASSIVE:
            raise ValueError("retain_evidence applies to FLASHING and ACTIVE_3D recordings only")
        if self.sync_evidence and not self.retain_evidence:
            raise ValueError("sync_evidence sends a kept recording: it needs retain_evidence")
        return self


class LivenessFeature(_Strict):
    feature: Literal["LIVENESS"]
    config: LivenessConfig = LivenessConfig()


class FaceSearchConfig(_Strict):
    """Thresholds are cosine similarities of L2-normalised templates (the index's own scale)."""

    # 0.53: FPIR 0.8% (16 of 2,000 never-enrolled searches) with FNIR 0 of 1,800 on the ORL
    # faces, from `poh eval dedup` (10 random splits of 20 enrolled / 20 never-enrolled people)
    review_threshold: float = Field(default=0.53, ge=0.0, le=1.0)
    # Review by default: NIST SP 800-63A-4 asks for a trained human before a 1:N decline.
    # A decline needs both duplicate_action DECLINE and a decline_threshold, written out.
    duplicate_action: DuplicateAction = DuplicateAction.REVIEW
    decline_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    max_matches: int = Field(default=5, ge=1, le=50)

    @model_validator(mode="after")
    def _coherent(self) -> FaceSearchConfig:
        if self.duplicate_action is DuplicateAction.DECLINE:
            if self.decline_threshold is None:
                raise ValueError("decline_threshold is required when duplicate_action is DECLINE")
            if self.decline_threshold < self.review_threshold:
                raise ValueError("decline_threshold must not be below review_threshold")
        elif self.decline_threshold is not None:
            raise ValueError("decline_threshold has no effect unless duplicate_action is DECLINE")
        return self


class FaceSearchFeature(_Strict):
    # FACE_MATCH is Didit's name for the same 1:N search; stored as FACE_SEARCH.
    feature: Literal["FACE_SEARCH", "FACE_MATCH"]
    config: FaceSearchConfig = FaceSearchConfig()

    @field_validator("feature")
    @classmethod
    def _alias(cls, v: str) -> str:
        return "FACE_SEARCH"


class AgeConfig(_Strict):
    min_age: int = Field(ge=0, le=120)
    # Estimates in [min_age, min_age + margin) go to a human: the model errs by several years.
    review_margin_years: float = Field(default=0.0, ge=0.0, le=30.0)


class AgeFeature(_Strict):
    feature: Literal["AGE_ESTIMATION"]
    config: AgeConfig


Feature = Annotated[LivenessFeature | FaceSearchFeature | AgeFeature,
                    Field(discriminator="feature")]


class AttemptLimits(_Strict):
    """Sessions allowed per person (vendor_data) and per device within a sliding window."""

    per_person: int = Field(default=3, ge=1, le=1_000)
    per_device: int = Field(default=500, ge=1, le=1_000_000)
    window_seconds: int = Field(default=DAY, ge=1, le=366 * DAY)


class SessionConfig(_Strict):
    # A session runs in front of the booth: an hour is already far longer than any person waits.
    expiry_seconds: float = Field(default=300.0, gt=0, le=3_600.0)
    # Nobody in front of the camera this long: the person walked away.
    abandon_after_seconds: float = Field(default=20.0, gt=0, le=3_600.0)
    # A face is present but no usable frames this long: ask for a retake (Resubmitted).
    capture_timeout_seconds: float = Field(default=15.0, gt=0, le=3_600.0)
    frames_required: int = Field(default=5, ge=1, le=100)
    max_retakes: int = Field(default=2, ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> SessionConfig:
        if self.capture_timeout_seconds > self.expiry_seconds:
            raise ValueError("capture_timeout_seconds must not exceed expiry_seconds")
        return self


class CredentialConfig(_Strict):
    issue: bool = True
    validity_seconds: int = Field(default=30 * DAY, ge=60, le=366 * DAY)
    # Accept a valid reusable credential instead of running a new check.
    accept: bool = False
    # None: the workflow's own method; an empty list would silently mean the same, so it is refused
    accepted_methods: tuple[LivenessMethod, ...] | None = Field(default=None, min_length=1,
                                                                  max_length=3)


class CaptureAction(StrEnum):
    """What a capture-integrity finding does to the session."""

    REVIEW = "REVIEW"
    DECLINE = "DECLINE"


class CaptureIntegrityConfig(_Strict):
    """Per finding about the booth camera: review (the default: each check can be wrong about
    an honest camera, see the README) or decline. Only booth-camera sessions are checked."""

    virtual_camera: CaptureAction = CaptureAction.REVIEW
    irregular_frame_timing: CaptureAction = CaptureAction.REVIEW
    camera_changed: CaptureAction = CaptureAction.REVIEW

    def action_for(self, code: WarningCode) -> CaptureAction:
        """KeyError for a code that is not a capture-integrity finding."""
        return {WarningCode.VIRTUAL_CAMERA: self.virtual_camera,
                WarningCode.IRREGULAR_FRAME_TIMING: self.irregular_frame_timing,
                WarningCode.CAMERA_CHANGED: self.camera_changed}[code]


class Workflow(_Strict):
    workflow_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    version: int = Field(ge=1, le=MAX_SAFE_INTEGER)  # signed into every verdict
    workflow_label: str = Field(min_length=1, max_length=200)
    features: tuple[Feature, ...] = Field(min_length=1)
    face_liveness_score_decline_threshold: float = Field(default=50.0, ge=0.0, le=100.0)
    # Scores above decline but at or below this go to review; None: no review band.
    face_liveness_score_review_threshold: float | None = Field(default=None, ge=0.0, le=100.0)
    attempt_limits: AttemptLimits = AttemptLimits()
    session: SessionConfig = SessionConfig()
    credential: CredentialConfig = CredentialConfig()
    capture_integrity: CaptureIntegrityConfig = CaptureIntegrityConfig()

    @model_validator(mode="after")
    def _coherent(self) -> Workflow:
        names = [f.feature for f in self.features]
        for name in set(names):
            if names.count(name) > 1:
                raise ValueError(f"feature {name} listed more than once")
        if "LIVENESS" not in names:
            raise ValueError("a Proof-of-Human workflow needs the LIVENESS feature")
        review = self.face_liveness_score_review_threshold
        if review is not None and review < self.face_liveness_score_decline_threshold:
            raise ValueError("face_liveness_score_review_threshold must not be below "
                             "face_liveness_score_decline_threshold")
        return self

    @property
    def liveness(self) -> LivenessFeature:
        return next(f for f in self.features if isinstance(f, LivenessFeature))

    @property
    def face_search(self) -> FaceSearchFeature | None:
        return next((f for f in self.features if isinstance(f, FaceSearchFeature)), None)

    @property
    def age(self) -> AgeFeature | None:
        return next((f for f in self.features if isinstance(f, AgeFeature)), None)

    @property
    def method(self) -> LivenessMethod:
        return self.liveness.config.method

    @property
    def accepted_credential_methods(self) -> tuple[LivenessMethod, ...]:
        return self.credential.accepted_methods or (self.method,)

    @property
    def ref(self) -> str:
        return f"{self.workflow_id}@{self.version}"
