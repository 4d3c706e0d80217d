"""Didit's standalone POST /v3/face-search/ at the hub, with real face models and a real fleet
folder (`poh fleet init`): a person enrolled at a booth (the booth's template, protected with
the fleet rotation, sent in the sealed report booths send and stored by the hub's template log)
is found from another photo; another person is not; a hub without the fleet operator's opt-in
refuses (403, never an empty result); bad uploads get Didit's 400s."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from support.hub_api import free_port, post_image, wait_http

from app.checks.face_registry import face_template
from inference.pipeline import FacePipeline
from storage.protection import DIM, TemplateProtector, random_orthogonal
from sync.fleet.envelope import seal, template_b64
from sync.fleet.folder import FleetError, FleetFolder, init_fleet
from sync.fleet.hub_face_search import enable_hub_face_search
from sync.hub.api.context import HubContext
from sync.hub.api.fleet_search import FleetFaceSearch
from sync.hub.api.keys import Scope, create_key
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.api.standalone_engine import StandaloneEngine
from sync.hub.db import open_engine
from sync.hub.service import load_signing_key
from sync.hub.templates import FleetTemplates

FLEET = "f1"
SESSION = "0b7f3f5e-5b1c-4d0e-9a55-3c1f0c6f7a11"


def _enrol_at_booth(fleet: FleetFolder, engine: Any, embedding: np.ndarray) -> None:
    """What a booth of the fleet sends for an enrolment: its template under the fleet rotation
    (as `poh fleet join` sets it), sealed under the fleet template key; the hub stores it."""
    booth = TemplateProtector(random_orthogonal(DIM, fleet.secret("rotation.seed")), 1)
    template = booth.protect(embedding)
    topic = f"poh/v1/{FLEET}/booth-a/templates"
    msg = {"type": "sync", "cursor": 0, "erasures": [], "adds": [{
        "entry_id": "booth-a:b00th:1", "vendor_data": "person-obama", "session_id": SESSION,
        "enrolled_at": "2026-12-01T10:00:00Z",
        "template": template_b64(template.astype("<f4").tobytes())}]}
    hub = FleetTemplates(engine, FLEET, fleet.secret("template.key"),
                         load_signing_key(fleet.file("hub", "signing.key")))
    hub.handle(topic, seal(fleet.secret("template.key"), topic, msg))
    assert hub.counts()["templates"] == 1


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory, face_pipeline: FacePipeline,
         portraits: dict[str, np.ndarray]) -> Iterator[dict[str, tuple[str, str]]]:
    """Two hubs over one fleet's stored templates: one whose fleet operator enabled face
    search, one without the opt-in."""
    tmp = tmp_path_factory.mktemp("face-search")
    fleet = init_fleet(tmp / "fleet", FLEET, "mqtts://localhost:8883")
    engine = open_engine(f"sqlite:///{tmp / 'hub.db'}")
    emb = face_template(face_pipeline, portraits["obama.jpg"]).embedding
    assert emb is not None
    _enrol_at_booth(fleet, engine, emb)
    plain_hub = tmp / "hub-without-opt-in"
    plain_hub.mkdir()
    (plain_hub / "template.key").write_bytes(fleet.file("hub", "template.key").read_bytes())
    path, written = enable_hub_face_search(fleet)
    assert written and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert enable_hub_face_search(fleet) == (path, False)  # enabling again changes nothing
    key = create_key(engine, "kiosk-vendor", frozenset({Scope.STANDALONE}))
    analysis = StandaloneEngine(face_pipeline)
    out, servers = {}, []
    for name, hub_dir in (("enabled", fleet.file("hub")), ("plain", plain_hub)):
        port = free_port()
        ctx = HubContext(engine, analysis_factory=lambda: analysis,
                         fleet_search_factory=lambda d=hub_dir: FleetFaceSearch.from_hub_dir(
                             engine, d, FLEET))
        servers.append(BackgroundServer(ctx, HttpAddress("127.0.0.1", port)))
        servers[-1].start()
        wait_http(f"http://127.0.0.1:{port}/health")
        out[name] = (f"http://127.0.0.1:{port}", key)
    yield out
    for s in servers:
        s.stop()
    engine.dispose()


def _post(hub: tuple[str, str], image: bytes | None, name: str = "selfie.jpg",
          **fields: str) -> tuple[int, Any]:
    return post_image(hub[0] + "/v3/face-search/", hub[1], image, name, **fields)


def test_enrolled_person_found_from_another_photo(hubs: dict[str, tuple[str, str]],
                                                  data_dir: Path) -> None:
    code, out = _post(hubs["enabled"], (data_dir / "colour" / "obama2.jpg").read_bytes(),
                      vendor_data="caller-1", search_type="most_similar")
    assert code == 200, out
    assert set(out) == {"request_id", "face_search", "vendor_data", "metadata", "created_at"}
    fs = out["face_search"]
    assert set(fs) == {"status", "total_matches", "matches", "user_image", "warnings"}
    assert fs["status"] == "In Review" and fs["total_matches"] == 1
    [match] = fs["matches"]
    assert (match["session_id"], match["vendor_data"]) == (SESSION, "person-obama")
    assert 53 <= match["similarity_percentage"] <= 100
    assert match["match_image_url"] is None and match["user_details"] is None
    [entity] = fs["user_image"]["entities"]
    assert set(entity) == {"bbox", "confidence"} and fs["user_image"]["best_angle"] == 0
    [w] = fs["warnings"]
    assert (w["risk"], w["log_type"]) == ("POSSIBLE_DUPLICATED_FACE", "warning")
    assert w["additional_data"] == {"duplicated_session_id": SESSION}
    assert "embedding" not in str(out) and "template" not in str(out)


def test_other_person_not_matched_and_rotation(hubs: dict[str, tuple[str, str]],
                                               data_dir: Path) -> None:
    code, out = _post(hubs["enabled"], (data_dir / "colour" / "biden.jpg").read_bytes())
    assert code == 200, out
    fs = out["face_search"]
    assert (fs["status"], fs["total_matches"], fs["matches"], fs["warnings"]) == (
        "Approved", 0, [], [])
    # a sideways photo of the enrolled person: found once rotate_image turns it upright
    sideways = cv2.rotate(cv2.imread(str(data_dir / "colour" / "obama2.jpg")),
                          cv2.ROTATE_90_COUNTERCLOCKWISE)
    png = cv2.imencode(".png", sideways)[1].tobytes()
    code, out = _post(hubs["enabled"], png, "side.png", rotate_image="true")
    assert code == 200, out
    assert out["face_search"]["total_matches"] == 1
    assert out["face_search"]["user_image"]["best_angle"] == 90


def test_refused_without_the_fleet_operators_opt_in(hubs: dict[str, tuple[str, str]],
                                                    data_dir: Path, tmp_path: Path) -> None:
    code, out = _post(hubs["plain"], (data_dir / "colour" / "obama2.jpg").read_bytes())
    assert (code, out["code"]) == (403, "face_search_not_enabled")
    assert "poh fleet hub-face-search" in out["detail"]
    # a hub folder whose seed is not the fleet's is refused by the opt-in, nothing overwritten
    other = init_fleet(tmp_path / "other", FLEET, "mqtts://localhost:8883")
    seed = other.file("hub", "rotation.seed")
    seed.write_text("00" * 32 + "\n")
    with pytest.raises(FleetError, match="not this fleet's rotation seed"):
        enable_hub_face_search(other)
    assert seed.read_text() == "00" * 32 + "\n"


def test_bad_uploads_and_keys(hubs: dict[str, tuple[str, str]]) -> None:
    hub = hubs["enabled"]
    blank = cv2.imencode(".png", np.full((240, 320, 3), 128, np.uint8))[1].tobytes()
    code, out = _post(hub, blank, "blank.png")
    assert code == 200 and out["face_search"]["status"] == "Declined"
    assert out["face_search"]["warnings"][0]["risk"] == "NO_FACE_DETECTED"
    assert out["face_search"]["matches"] == []
    code, out = _post(hub, b"GIF89a" + b"\x00" * 100, "x.gif")
    assert (code, out["code"]) == (400, "invalid_image")
    code, out = _post(hub, b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "big.jpg")
    assert (code, out["code"]) == (400, "file_too_large")
    code, out = _post(hub, None)
    assert code == 400 and "user_image" in out["errors"]
    code, out = _post(hub, blank, search_type="everyone")
    assert code == 400 and "search_type" in out["errors"]
    code, out = _post(hub, blank, metadata="[1]")
    assert (code, out["detail"]) == (400, "metadata: give a JSON object")
    code, out = _post((hub[0], "wrong-key"), blank)
    assert code == 401
