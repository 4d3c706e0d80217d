"""Composition root for CLI commands: builds components from the configuration, once."""

from __future__ import annotations

import functools

from app.paths import models_dir
from inference.passive.liveness import PassiveLiveness, PassiveLivenessConfig
from inference.pipeline import FacePipeline, PipelineConfig
from inference.quality import QualityConfig


@functools.cache
def build_pipeline() -> FacePipeline:
    """The face pipeline, compiled once per process (fails at start-up if a model is missing)."""
    return FacePipeline(PipelineConfig(models_dir=models_dir()))


@functools.cache
def build_passive_liveness(decline_threshold: float | None = None) -> PassiveLiveness:
    if decline_threshold is None:
        return PassiveLiveness(PassiveLivenessConfig())
    review = max(decline_threshold, PassiveLivenessConfig().review_threshold)
    return PassiveLiveness(
        PassiveLivenessConfig(decline_threshold=decline_threshold, review_threshold=review)
    )


def build_quality_config() -> QualityConfig:
    return QualityConfig()
