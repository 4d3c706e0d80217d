"""Workflows: which checks a session runs and the thresholds that decide it."""

from app.workflows.loader import (
    DEFAULT_WORKFLOW,
    WorkflowError,
    describe_validation_error,
    load_workflow,
    parse_workflow,
)
from app.workflows.model import (
    AgeFeature,
    FaceSearchFeature,
    LivenessFeature,
    Workflow,
)

__all__ = [
    "DEFAULT_WORKFLOW",
    "AgeFeature",
    "FaceSearchFeature",
    "LivenessFeature",
    "Workflow",
    "WorkflowError",
    "describe_validation_error",
    "load_workflow",
    "parse_workflow",
]
