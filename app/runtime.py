"""Composition root for CLI commands: builds components from the configuration, once."""

from __future__ import annotations

import functools

from app.config import KioskConfig, load_config
from inference.passive.liveness import PassiveLiveness
from inference.pipeline import FacePipeline
from inference.quality import QualityConfig


@functools.cache
def config() -> KioskConfig:
    return load_config()


@functools.cache
def build_pipeline() -> FacePipeline:
    """The face pipeline, compiled once per process (fails at start-up if a model is missing)."""
    return FacePipeline(config().inference)


@functools.cache
def build_passive_liveness(decline_threshold: float | None = None) -> PassiveLiveness:
    """Passive liveness; a workflow's decline threshold overrides the configured one."""
    base = config().passive_liveness
    if decline_threshold is None:
        return PassiveLiveness(base)
    review = max(decline_threshold, base.review_threshold)
    return PassiveLiveness(base.model_copy(
        update={"decline_threshold": decline_threshold, "review_threshold": review}))


def build_quality_config() -> QualityConfig:
    return config().quality

