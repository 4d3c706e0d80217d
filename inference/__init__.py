"""Face inference on OpenVINO: models, pipeline, quality cues and liveness analysis."""
