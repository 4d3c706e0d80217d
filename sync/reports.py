"""The per-feature reports inside a verdict, in Didit's shape: status, method, score, warnings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sync.vocabulary import FeatureStatus, LivenessMethod, WarningCode


class WireModel(BaseModel):
    """Base for everything that is signed or sent: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WarningItem(WireModel):
    code: WarningCode


class LivenessReport(WireModel):
    status: FeatureStatus
    method: LivenessMethod
    score: float | None = Field(default=None, ge=0.0, le=100.0)
    warnings: tuple[WarningItem, ...] = ()


class FaceMatch(WireModel):
    vendor_data: str | None
    similarity_score: float
    session_id: str | None = None
    blocklisted: bool = False


class FaceSearchReport(WireModel):
    status: FeatureStatus
    matches: tuple[FaceMatch, ...] = ()
    warnings: tuple[WarningItem, ...] = ()


class AgeReport(WireModel):
    status: FeatureStatus
    age_estimation: float | None
    min_age: int
    warnings: tuple[WarningItem, ...] = ()


def warning_items(codes: tuple[WarningCode, ...] | list[WarningCode]) -> tuple[WarningItem, ...]:
    seen: list[WarningCode] = []
    for c in codes:
        if c not in seen:
            seen.append(c)
    return tuple(WarningItem(code=c) for c in seen)
