"""The hub's fleet template log on a real database, SQLite and PostgreSQL (no broker: the
messages are the sealed bytes booths send): ordering, review of the later enrolment, refusals,
erasure with confirmations by cursor, catch-up, restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.envelope import open_message, seal, template_b64
from sync.hub.db import open_engine
from sync.hub.fleet_index import FleetIndex
from sync.hub.templates import FleetTemplates

KEY = bytes(range(32))
PA, PB = "person-at-booth-a", "person-at-booth-b"
SIGNER = Ed25519PrivateKey.generate()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    yield request.getfixturevalue("postgres").new_database()


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(192).astype(np.float32)
    return v / np.linalg.norm(v)


def _report(device: str, cursor: int, adds: list[tuple[int, str, np.ndarray, str]] = (),
            erasures: tuple[str, ...] = ()) -> tuple[str, bytes]:  # type: ignore[assignment]
    topic = f"poh/v1/f1/{device}/templates"
    msg = {"type": "sync", "cursor": cursor, "erasures": list(erasures), "adds": [
        {"entry_id": f"{device}:b00th:{tid}", "vendor_data": vendor,
         "session_id": f"sess-{device}-{tid}", "enrolled_at": when,
         "template": template_b64(vec.astype("<f4").tobytes())}
        for tid, vendor, vec, when in adds]}
    return topic, seal(KEY, topic, msg)


def _open(out: list[tuple[str, bytes]]) -> list[tuple[str, dict[str, Any]]]:
    return [(t, open_message(KEY, t, p, SIGNER.public_key())) for t, p in out]


@pytest.fixture()
def engines(db_url: str) -> Iterator[list[sa.Engine]]:
    made: list[sa.Engine] = []
    yield made
    for e in made:
        e.dispose()


def _engine(url: str, engines: list[sa.Engine]) -> sa.Engine:
    engines.append(open_engine(url))
    return engines[-1]


def test_log_review_erasure_catch_up_and_restart(db_url: str, engines: list[sa.Engine]
                                                 ) -> None:
    hub = FleetTemplates(_engine(db_url, engines), "f1", KEY, SIGNER)
    person, other = _unit(1), _unit(2)
    # booth B's enrolment arrives first but was made later than booth A's (both offline)
    out = _open(hub.handle(*_report("booth-b", 0, [(1, PB, person + 0.0, "2026-01-02")])))
    assert [m["type"] for _, m in out] == ["deltas"] and out[0][0] == "poh/v1/f1/templates"
    assert out[0][1]["deltas"][0]["seq"] == 1
    out = _open(hub.handle(*_report("booth-a", 0, [(7, PA, person, "2026-01-01"),
                                                   (8, "other", other, "2026-01-01")])))
    kinds = {(t.split("/")[3] if "cmd" in t else "all", m["type"]) for t, m in out}
    assert ("all", "deltas") in kinds and ("booth-b", "review") in kinds
    review = next(m for t, m in out if m["type"] == "review")
    assert review["session_id"] == "sess-booth-b-1"  # the later one, though it came first
    assert review["matching_session"] == "sess-booth-a-7"
    assert [(r["device_id"], r["matching_device"]) for r in hub.reviews()] == [
        ("booth-b", "booth-a")]
    # booth A reported cursor 0: it is sent delta 1 (B's) on its own topic
    catch = [m for t, m in out if t == "poh/v1/f1/booth-a/cmd/templates"
             and m["type"] == "deltas"]
    assert [d["seq"] for d in catch[0]["deltas"]] == [1]
    # refused: another booth's entry name, a re-sent entry, a broken envelope
    topic = "poh/v1/f1/booth-a/templates"
    forged = seal(KEY, topic, {"type": "sync", "cursor": 3, "erasures": [], "adds": [
        {"entry_id": "booth-b:b00th:99", "vendor_data": "x", "session_id": None,
         "enrolled_at": "2026", "template": template_b64(other.astype("<f4").tobytes())}]})
    assert hub.handle(topic, forged) == []
    topic, raw = _report("booth-a", 3, [(9, "x", other, "2026")])
    assert hub.handle(topic.replace("booth-a", "booth-b"), raw) == []
    assert hub.counts()["templates"] == 3 and hub.counts()["last_seq"] == 3
    # erasure asked by booth A: every template of the person, confirmed by cursors
    out = _open(hub.handle(*_report("booth-a", 3, erasures=(PA,))))
    erase = out[0][1]["deltas"][0]
    assert erase["op"] == "erase" and erase["seq"] == 4 and len(erase["entry_ids"]) == 1
    assert [(e["confirmed"], e["pending"]) for e in hub.erasures()] == [
        ([], ["booth-a", "booth-b"])]
    hub.handle(*_report("booth-b", 4))
    assert hub.erasures()[0]["confirmed"] == ["booth-b"]
    # nothing left of the person: a direct acknowledgement, no new delta
    out = _open(hub.handle(*_report("booth-a", 4, erasures=(PA,))))
    assert [m["type"] for _, m in out] == ["erase_ack"]
    assert hub.erasures()[0]["confirmed"] == ["booth-a", "booth-b"]
    # the add of the erased template is void in the log; its entry is never taken again
    assert [d["op"] for d in hub.deltas_after(0)] == ["add", "void", "add", "erase"]
    assert hub.handle(*_report("booth-a", 4, [(7, PA, person, "2026-01-01")])) == []
    # restart: the index comes back from the sealed rows; the person is found, the erased not
    again = FleetTemplates(_engine(db_url, engines), "f1", KEY, SIGNER, index=FleetIndex())
    hits = again.index.search(person, 3)
    assert len(again.index) == 2 and hits[0].template_id == 1 and hits[0].cosine > 0.99
    with again.engine.connect() as conn:
        blobs = b"".join(bytes(v) for row in conn.execute(sa.text(
            "SELECT sealed FROM fleet_templates UNION ALL SELECT sealed FROM fleet_deltas "
            "WHERE sealed IS NOT NULL")) for v in row)
    assert PB.encode() not in blobs
    assert person.astype("<f4").tobytes()[:32] not in blobs
