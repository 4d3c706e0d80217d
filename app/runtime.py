"""Composition root for CLI commands: builds components from the configuration, once."""

from __future__ import annotations

import functools

from app.paths import models_dir
from inference.pipeline import FacePipeline, PipelineConfig


@functools.cache
def build_pipeline() -> FacePipeline:
    """The face pipeline, compiled once per process (fails at start-up if a model is missing)."""
    return FacePipeline(PipelineConfig(models_dir=models_dir()))
