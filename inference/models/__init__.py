"""One small class per OpenVINO model, one verb each."""
