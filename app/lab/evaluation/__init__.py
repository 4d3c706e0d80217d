"""Accuracy evaluations: face verification, presentation attack detection, dedup."""
