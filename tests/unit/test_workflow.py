"""Workflow documents: the default loads, every kind of mistake is refused naming its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import run
from app.workflows import DEFAULT_WORKFLOW, WorkflowError, load_workflow, parse_workflow
from sync.vocabulary import DuplicateAction, LivenessMethod


def _wf(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "workflow_id": "t", "version": 1, "workflow_label": "test",
        "features": [{"feature": "LIVENESS", "config": {"method": "PASSIVE"}},
                     {"feature": "FACE_SEARCH"}],
    }
    base.update(over)
    return base


def test_default_workflow_loads() -> None:
    wf = load_workflow(DEFAULT_WORKFLOW)
    assert wf.workflow_id == "poh-default"
    assert wf.method is LivenessMethod.PASSIVE
    assert wf.face_search is not None
    assert wf.face_search.config.duplicate_action is DuplicateAction.REVIEW
    assert wf.age is not None and wf.age.config.min_age == 18


def test_face_match_is_an_alias_of_face_search() -> None:
    wf = parse_workflow(_wf(features=[{"feature": "LIVENESS"}, {"feature": "FACE_MATCH"}]))
    assert wf.face_search is not None and wf.face_search.feature == "FACE_SEARCH"


def test_duplicates_review_unless_decline_is_explicit() -> None:
    wf = parse_workflow(_wf())
    assert wf.face_search is not None
    assert wf.face_search.config.duplicate_action is DuplicateAction.REVIEW
    with pytest.raises(WorkflowError, match="decline_threshold is required"):
        parse_workflow(_wf(features=[{"feature": "LIVENESS"}, {
            "feature": "FACE_SEARCH", "config": {"duplicate_action": "DECLINE"}}]))
    with pytest.raises(WorkflowError, match="no effect unless duplicate_action is DECLINE"):
        parse_workflow(_wf(features=[{"feature": "LIVENESS"}, {
            "feature": "FACE_SEARCH", "config": {"decline_threshold": 0.8}}]))


@pytest.mark.parametrize(("doc", "field"), [
    (_wf(colour="red"), "colour: unknown field"),
    (_wf(version="1"), "version:"),
    (_wf(version=0), "version:"),
    (_wf(workflow_id="bad id!"), "workflow_id:"),
    (_wf(features=[{"feature": "LIVENESS", "config": {"method": "BLINK"}}]),
     "features.0.config.method:"),
    (_wf(features=[{"feature": "LIVENESS", "config": {"methd": "PASSIVE"}}]),
     "features.0.config.methd: unknown field"),
    (_wf(features=[{"feature": "LIVENESS"}, {"feature": "NOSE_CHECK"}]), "features.1:"),
    (_wf(features=[{"feature": "LIVENESS"}, {"feature": "AGE_ESTIMATION"}]),
     "features.1.config: required field is missing"),
    (_wf(features=[{"feature": "FACE_SEARCH"}]), "needs the LIVENESS feature"),
    (_wf(features=[{"feature": "LIVENESS"}, {"feature": "LIVENESS"}]), "more than once"),
    (_wf(face_liveness_score_decline_threshold=101), "face_liveness_score_decline_threshold:"),
    (_wf(face_liveness_score_decline_threshold=60, face_liveness_score_review_threshold=50),
     "face_liveness_score_review_threshold must not be below"),
    (_wf(session={"frames_required": 0}), "session.frames_required:"),
    (_wf(attempt_limits={"per_person": 3, "per_hour": 2}), "attempt_limits.per_hour: unknown"),
    (_wf(credential={"accept": "yes"}), "credential.accept:"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_workflows_name_the_field(doc: Any, field: str) -> None:
    with pytest.raises(WorkflowError) as err:
        parse_workflow(doc)
    msg = str(err.value)
    assert field in msg
    assert "\n" not in msg


def test_file_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.json"
    dup.write_text('{"workflow_id": "a", "workflow_id": "b"}')
    with pytest.raises(WorkflowError, match="workflow_id: key appears twice"):
        load_workflow(dup)
    broken = tmp_path / "broken.json"
    broken.write_text('{"workflow_id": ')
    with pytest.raises(WorkflowError, match="not valid JSON"):
        load_workflow(broken)
    with pytest.raises(WorkflowError, match="no such file"):
        load_workflow(tmp_path / "missing.json")


def _cli() -> Any:
    # the lead wires workflow_cmd into app.cli.main; attach it here if not yet done
    from app.cli import main, workflow_cmd
    names = {g.name for g in main.app.registered_groups}
    if "workflow" not in names:
        main.app.add_typer(workflow_cmd.app, name="workflow")
    return run


def test_cli_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = _cli()
    assert cli(["workflow", "validate", str(DEFAULT_WORKFLOW), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["workflow_id"] == "poh-default"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_wf(session={"expiry_seconds": -1})))
    assert cli(["workflow", "validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "session.expiry_seconds" in err[0]


def test_capture_integrity_section_is_strict_with_review_defaults() -> None:
    from app.workflows.model import CaptureAction
    wf = parse_workflow(_wf())
    assert wf.capture_integrity.virtual_camera is CaptureAction.REVIEW
    assert wf.capture_integrity.irregular_frame_timing is CaptureAction.REVIEW
    assert wf.capture_integrity.camera_changed is CaptureAction.REVIEW
    wf = parse_workflow(_wf(capture_integrity={"camera_changed": "DECLINE"}))
    assert wf.capture_integrity.camera_changed is CaptureAction.DECLINE
    with pytest.raises(WorkflowError, match="capture_integrity.camera_changed"):
        parse_workflow(_wf(capture_integrity={"camera_changed": "IGNORE"}))
    with pytest.raises(WorkflowError, match="capture_integrity.ip_address: unknown field"):
        parse_workflow(_wf(capture_integrity={"ip_address": "REVIEW"}))
