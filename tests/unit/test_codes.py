"""Every code the liveness analyzers can answer maps to exactly one verdict warning code."""

from __future__ import annotations

import pytest

from app.flow.codes import (
    CAPTURE_INTEGRITY,
    LIVENESS_WARNINGS,
    NOT_FROM_LIVENESS,
    liveness_warnings,
)
from app.workflows.model import CaptureAction, CaptureIntegrityConfig
from inference.codes import LivenessCode
from sync.vocabulary import WarningCode


def test_every_liveness_code_is_mapped() -> None:
    assert set(LIVENESS_WARNINGS) == set(LivenessCode)


def test_every_verdict_code_is_accounted_for() -> None:
    # a warning code added to the verdict's vocabulary must be placed on one side or the other
    mapped = set(LIVENESS_WARNINGS.values())
    assert mapped | NOT_FROM_LIVENESS == set(WarningCode)
    assert not mapped & NOT_FROM_LIVENESS


def test_every_capture_integrity_code_has_a_workflow_setting_and_only_those() -> None:
    policy = CaptureIntegrityConfig()
    assert CAPTURE_INTEGRITY <= NOT_FROM_LIVENESS
    for code in CAPTURE_INTEGRITY:
        assert policy.action_for(code) is CaptureAction.REVIEW  # the safe default
    assert len(CaptureIntegrityConfig.model_fields) == len(CAPTURE_INTEGRITY)
    for code in set(WarningCode) - CAPTURE_INTEGRITY:
        with pytest.raises(KeyError):
            policy.action_for(code)


def test_an_unknown_code_is_an_error_not_dropped() -> None:
    assert liveness_warnings([LivenessCode.LOW_LIVENESS_SCORE]) == (
        WarningCode.LOW_LIVENESS_SCORE,)
    with pytest.raises(ValueError):
        liveness_warnings(["SOMETHING_NEW"])  # type: ignore[list-item]
