"""The closed-loop evaluation (poh-lab eval closed-loop): a larger run on held-out settings,
slow-marked. Every session runs the whole chain on real threads with the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.kiosk.config import KioskConfig
from app.lab.datasets import face3d_dir
from app.lab.evaluation.closed_loop_eval import evaluate_closed_loop, render
from inference.pipeline import FacePipeline


@pytest.mark.slow
def test_closed_loop_heldout_sessions(data_dir: Path, models_dir: Path,
                                      face_pipeline: FacePipeline) -> None:
    cfg = KioskConfig.model_validate({"inference": {"models_dir": str(models_dir)}})
    doc = evaluate_closed_loop(face3d_dir(data_dir), cfg, face_pipeline, sessions=6,
                               split="heldout", seed=21)
    text = render(doc)
    rows = doc["results"]
    assert set(rows) == {"FLASHING/live", "FLASHING/print", "FLASHING/replay",
                         "FLASHING/retint0", "FLASHING/retint2", "ACTIVE_3D/live",
                         "ACTIVE_3D/moved_photo", "PASSIVE/live"}, text
    for key, row in rows.items():
        assert row["sessions"] == 6, text
        if row["species"] == "live":  # at most one live person of six declined
            assert row["errors"] <= 1, text
        else:  # no attack accepted
            assert row["errors"] == 0, (key, text)
