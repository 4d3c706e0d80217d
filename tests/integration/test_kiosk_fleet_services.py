"""`poh kiosk` on a fleet booth runs the registration, the template sync and the verdict drain
beside the screen, on the kiosk's own storage: a person enrolled at booth A reaches the very
index booth B's next session searches (a second Storage would merge into an index the sessions
never read). A booth outside a fleet runs none of it. Real mosquitto (shipped configuration),
real SQLCipher booths, real face models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fleet_helpers import add_and_join, fleet_with_broker
from test_fleet_uniqueness import SESS_A, booth_sync, eventually, running_hub

from app.checks.face_registry import face_template
from app.kiosk.config import load_config
from app.kiosk.fleet_services import kiosk_fleet_services
from app.kiosk.root import Kiosk, open_kiosk
from inference.pipeline import FacePipeline


def test_the_kiosk_merges_the_fleet_into_its_own_index(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], face_pipeline: FacePipeline,
        portraits: dict[str, np.ndarray]) -> None:
    obama = face_template(face_pipeline, portraits["obama.jpg"]).embedding
    obama2 = face_template(face_pipeline, portraits["obama2.jpg"]).embedding
    assert obama is not None and obama2 is not None
    with fleet_with_broker(tmp_path) as fleet:
        for name in ("booth-a", "booth-b"):
            add_and_join(capsys, fleet, tmp_path / name, name, register_timeout=0)
        home_b = tmp_path / "booth-b"
        kiosk: Kiosk = open_kiosk(load_config(home_b / "config.json"), home_b,
                                  pipeline=face_pipeline)
        try:
            with running_hub(fleet, tmp_path) as hub, booth_sync(tmp_path / "booth-a") as a, \
                    kiosk_fleet_services(kiosk) as in_fleet:
                assert in_fleet
                a.faces.enroll("person-obama", obama, session_id=SESS_A)
                eventually("the kiosk's own index holds booth A's enrolment",
                           lambda: kiosk.storage.faces.gallery_size() == 1)
                hit = kiosk.storage.faces.search(obama2, 1).enrolled[0]
                assert hit.vendor_data == "person-obama" and hit.cosine >= 0.53
                eventually("the kiosk registered and reports its cursor", lambda: hub.templates
                           .counts()["booth_cursors"].get("booth-b") == 1)
        finally:
            kiosk.close()


def test_a_booth_outside_a_fleet_runs_no_fleet_work(kiosk: Kiosk) -> None:
    with kiosk_fleet_services(kiosk) as in_fleet:
        assert not in_fleet
