"""Workflows: which checks a session runs and the thresholds that decide it."""

from app.workflows.loader import (
    ACTIVE_3D_WORKFLOW,
    DEFAULT_WORKFLOW,
    FLASHING_WORKFLOW,
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
    "ACTIVE_3D_WORKFLOW",
    "DEFAULT_WORKFLOW",
    "FLASHING_WORKFLOW",
    "AgeFeature",
    "FaceSearchFeature",
    "LivenessFeature",
    "Workflow",
    "WorkflowError",
    "describe_validation_error",
    "load_workflow",
    "parse_workflow",
]
