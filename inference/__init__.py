"""Face inference on OpenVINO: models, pipeline, quality cues and liveness analysis."""

# Before any module of this package imports openvino: OpenVINO's telemetry stays unloaded in
# every process that reaches openvino through inference (see inference.offline).
from inference import offline as _offline  # noqa: F401
