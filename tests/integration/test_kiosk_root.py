"""The composition root: built once from configuration, changed while running, closed.

A configuration or workflow pushed to a running kiosk (as the MQTT config topic will) is checked
whole before it replaces anything: a bad one is refused with one line and the old one keeps
serving new sessions; a session already under way keeps what it started with.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import BadInputError
from app.kiosk.root import Kiosk
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind, LivenessMethod

CAMERA = CaptureSource(kind=CaptureKind.CAMERA, detail="camera 0")


def _doc(path: Path, **changes: object) -> bytes:
    doc = json.loads(path.read_text())
    doc.update(changes)
    return json.dumps(doc).encode()


def test_a_good_workflow_applies_to_the_next_session(kiosk: Kiosk) -> None:
    running = kiosk.new_session(CAMERA, "before")
    wf = kiosk.apply_workflow(_doc(FLASHING_WORKFLOW, version=7))
    assert kiosk.workflow.ref == wf.ref and wf.method is LivenessMethod.FLASHING
    assert running.workflow.method is LivenessMethod.PASSIVE  # under way: unchanged
    assert kiosk.new_session(CAMERA, "after").workflow.version == 7


@pytest.mark.parametrize("document", [
    b"{not json",
    b'{"workflow_id": "x", "workflow_id": "y"}',
    b"[]",
    b'{"workflow_id": "w", "version": 1, "workflow_label": "w", "features": []}',
    b'{"workflow_id": "w", "version": "1", "workflow_label": "w", '
    b'"features": [{"feature": "LIVENESS"}]}',
    b"[" * 100_000,
])
def test_a_bad_workflow_is_refused_and_the_old_keeps_running(kiosk: Kiosk,
                                                             document: bytes) -> None:
    old = kiosk.workflow
    with pytest.raises(BadInputError) as err:
        kiosk.apply_workflow(document)
    assert "\n" not in str(err.value)
    assert kiosk.workflow is old
    assert kiosk.new_session(CAMERA, "still").workflow == load_workflow(DEFAULT_WORKFLOW)


def test_a_good_configuration_applies_without_a_restart(kiosk: Kiosk, models_dir: Path) -> None:
    pipeline = kiosk.pipeline
    doc = {"inference": {"models_dir": str(models_dir)}, "quality": {"min_face_luma": 55.0},
           "challenge": {"same_face_min": 0.5}, "active_liveness": {"min_relief": 0.05},
           "evidence": {"max_age_days": 7}}
    cfg = kiosk.apply_config(json.dumps(doc))
    assert kiosk.config is cfg and cfg.challenge.same_face_min == 0.5
    # every section reaches the parts new sessions are built from
    parts = kiosk.parts
    assert parts.quality.min_face_luma == 55.0
    assert parts.evidence is not None and parts.evidence.policy.max_age_days == 7  # type: ignore[attr-defined]
    active = kiosk.parts_for(load_workflow(FLASHING_WORKFLOW)).liveness
    assert active._config.same_face_min == 0.5  # type: ignore[attr-defined]
    assert active._analyzer.flash_th.min_relief == 0.05  # type: ignore[attr-defined]
    assert kiosk.pipeline is pipeline  # same inference section: models not recompiled


@pytest.mark.parametrize("change, words", [
    ({"unknown_section": {}}, "unknown_section"),
    ({"storage": {"db_filename": "other.db"}}, "storage"),
    ({"sync": {"fleet_id": "elsewhere"}}, "fleet"),
    ({"challenge": {"same_face_min": 7}}, "same_face_min"),
])
def test_a_bad_configuration_is_refused_and_the_old_kept(kiosk: Kiosk, models_dir: Path,
                                                         change: dict[str, object],
                                                         words: str) -> None:
    old = kiosk.config
    doc = {"inference": {"models_dir": str(models_dir)}, **change}
    with pytest.raises(BadInputError, match=words):
        kiosk.apply_config(json.dumps(doc))
    assert kiosk.config is old


def test_models_that_do_not_load_keep_the_running_ones(kiosk: Kiosk, tmp_path: Path) -> None:
    old, pipeline = kiosk.config, kiosk.pipeline
    with pytest.raises(BadInputError, match="models not loaded"):
        kiosk.apply_config(json.dumps({"inference": {"models_dir": str(tmp_path / "none")}}))
    assert kiosk.config is old and kiosk.pipeline is pipeline


def test_verdict_listeners_hear_each_committed_verdict(kiosk: Kiosk) -> None:
    heard: list[int] = []
    kiosk.on_verdict(lambda r: heard.append(r.verdict.sequence))
    flow = kiosk.new_session(CAMERA, "carol")
    flow.start(0.0)
    flow.consent(False, 0.5)
    assert heard == [1]
    assert kiosk.storage.verdicts().outbox_sequences() == [1]
