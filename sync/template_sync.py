"""The booth's side of fleet-wide uniqueness: publish its enrolments and erasures to the hub,
merge the hub's template deltas into its own index, in fleet order, from its cursor.

Booth -> hub, on poh/v1/{fleet}/{device}/templates (sealed, sync.fleet.envelope):
    {"type": "sync", "cursor": N, "adds": [...], "erasures": [vendor_data, ...]}
  `adds` are local enrolled templates the hub has not announced yet (protected under the fleet
  rotation: the hub compares them as they are); `cursor` is the last delta merged here, which
  is also the booth's confirmation of every erasure up to it, and asks for what follows.
Hub -> booths, signed by the hub: deltas {"seq", "op": "add" | "erase" | "void", ...} on
  poh/v1/{fleet}/templates (live) and on the booth's cmd/templates (catching up from its
  cursor); on cmd/templates also "review" (the hub put one of this booth's sessions In Review)
  and "erase_ack" (an erasure that found nothing left to erase).

Merging is strictly in order: a delta is applied only when its seq is cursor + 1, and the
cursor moves in the same transaction as what the delta changed; a gap (a booth offline, a
message lost) makes the booth report its cursor, and the hub sends what follows. A template of
this booth comes back as an add naming it (it then counts as published); any other add is
stored as an enrolled template of the person it names, searchable at once. An erasure erases
the person here as `poh forget` does (sessions, verdicts and kept recordings too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from storage import fleet_state
from storage.database import Connection, Database
from storage.face_store import FaceStore
from storage.protection import DIM
from storage.template_store import NewTemplate
from sync.fleet.envelope import EnvelopeError, open_message, seal, template_b64, template_bytes
from sync.fleet.membership import Membership

log = logging.getLogger(__name__)

MAX_ADDS_PER_MESSAGE = 200
Outgoing = tuple[str, bytes, bool]  # topic, payload, retain


def entry_id(device_id: str, booth_id: str, template_id: int) -> str:
    """The fleet-wide name of a booth's template (the booth id keeps a re-initialised booth
    with the same device id from reusing names)."""
    return f"{device_id}:{booth_id[:12]}:{template_id}"


@dataclass
class MergeReport:
    applied: int = 0
    added: int = 0
    erased: int = 0
    reviews: int = 0
    gap: bool = False  # a delta beyond cursor + 1 arrived: report the cursor


class BoothTemplateSync:
    def __init__(self, faces: FaceStore, db: Database, db_key: bytes, membership: Membership,
                 erase: Callable[[str], None]) -> None:
        self._faces = faces
        self._db = db
        self._membership = membership
        self._erase = erase  # erases a person here, as `poh forget` does
        with db.read("reading the fleet template key") as conn:
            self._key = fleet_state.template_key(conn, db_key)
        self._hub = membership.hub_key()
        m = membership
        self.up_topic = m.topic("templates")
        self.shared_topic = f"poh/v1/{m.fleet_id}/templates"
        self.direct_topic = m.topic("cmd/templates")
        self.register_topic = m.topic("register")

    def subscriptions(self) -> list[tuple[str, int]]:
        return [(self.shared_topic, 1), (self.direct_topic, 1)]

    @property
    def cursor(self) -> int:
        with self._db.read("reading the template cursor") as conn:
            return fleet_state.cursor(conn)

    # --- booth -> hub ----------------------------------------------------------------------

    def registration(self) -> Outgoing | None:
        with self._db.read("reading the pending registration") as conn:
            payload = fleet_state.pending_registration(conn)
        return None if payload is None else (self.register_topic, payload, True)

    def registration_done(self, payload: bytes) -> None:
        with self._db.transaction("marking the registration sent") as conn:
            fleet_state.registration_sent(conn, payload)

    def sync_message(self) -> tuple[Outgoing, tuple[Any, ...]]:
        """The booth's report, and what it says (cursor, entry ids, erasures) to tell a
        repeat from news (the sealed bytes differ every time)."""
        with self._db.read("collecting fleet news") as conn:
            cursor = fleet_state.cursor(conn)
            local = fleet_state.unpublished(conn, MAX_ADDS_PER_MESSAGE)
            erasures = fleet_state.pending_erasures(conn)
        booth = self._db.booth_id
        adds = [{"entry_id": entry_id(self._membership.device_id, booth, t.template_id),
                 "vendor_data": t.vendor_data, "session_id": t.session_id,
                 "enrolled_at": t.created_at, "template": template_b64(t.template)}
                for t in local]
        msg = {"type": "sync", "cursor": cursor, "adds": adds, "erasures": erasures}
        what = (cursor, tuple(a["entry_id"] for a in adds), tuple(erasures))
        return (self.up_topic, seal(self._key, self.up_topic, msg), False), what

    # --- hub -> booth ----------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> MergeReport:
        report = MergeReport()
        if topic not in (self.shared_topic, self.direct_topic):
            return report
        try:
            msg = open_message(self._key, topic, payload, signer=self._hub)
        except EnvelopeError as exc:
            log.warning("fleet message on %s refused: %s", topic, exc)
            return report
        kind = msg["type"]
        if kind == "deltas":
            deltas = msg.get("deltas")
            if isinstance(deltas, list):
                self._merge(deltas, report)
        elif kind == "review" and topic == self.direct_topic:
            self._review(msg)
            report.reviews += 1
        elif kind == "erase_ack" and topic == self.direct_topic:
            for vendor in msg.get("vendor_data") or []:
                with self._db.transaction("closing an erasure request") as conn:
                    fleet_state.erasure_done(conn, str(vendor))
        return report

    def _merge(self, deltas: list[Any], report: MergeReport) -> None:
        for d in sorted((d for d in deltas if isinstance(d, dict)
                         and isinstance(d.get("seq"), int)), key=lambda d: int(d["seq"])):
            cursor = self.cursor
            seq = int(d["seq"])
            if seq <= cursor:
                continue
            if seq > cursor + 1:
                report.gap = True
                return
            self._apply(d, seq, report)
            report.applied += 1

    def _apply(self, d: dict[str, Any], seq: int, report: MergeReport) -> None:
        op = d.get("op")
        if op == "add":
            self._apply_add(d, seq, report)
        elif op == "erase":
            entries = [str(e) for e in d.get("entry_ids") or []]
            vendors = {str(v) for v in d.get("vendor_data") or []}
            with self._db.read("finding erased entries") as conn:
                vendors |= fleet_state.local_vendor_data(conn, entries)
            for vendor in sorted(vendors):
                self._erase(vendor)  # idempotent: a crash before the cursor moves repeats it
            with self._db.transaction("merging a fleet erasure") as conn:
                fleet_state.drop_entries(conn, entries)
                for vendor in vendors:
                    fleet_state.erasure_done(conn, vendor)
                fleet_state.set_cursor(conn, seq)
            report.erased += len(entries)
        else:  # "void": an addition erased since; nothing of it is left to send
            with self._db.transaction("skipping a void delta") as conn:
                fleet_state.set_cursor(conn, seq)

    def _apply_add(self, d: dict[str, Any], seq: int, report: MergeReport) -> None:
        eid, origin = str(d.get("entry_id")), str(d.get("origin_device"))
        session = d.get("origin_session")
        session = str(session) if session is not None else None
        mine = self._own_template(eid)
        if mine is not None:
            with self._db.transaction("recording a published template") as conn:
                alive = fleet_state.template_exists(conn, mine)
                fleet_state.add_entry(conn, eid, mine if alive else None, origin, session, seq)
                fleet_state.set_cursor(conn, seq)
            return
        with self._db.read("checking a fleet entry") as conn:
            known = fleet_state.has_entry(conn, eid)
        vec = np.frombuffer(template_bytes(d.get("template"), DIM), dtype="<f4")
        vendor = d.get("vendor_data")
        if known or not isinstance(vendor, str) or not vendor:
            with self._db.transaction("skipping a fleet entry") as conn:
                fleet_state.set_cursor(conn, seq)
            return

        def record(conn: Connection, ids: Any) -> None:
            fleet_state.add_entry(conn, eid, int(ids[0]), origin, session, seq)
            fleet_state.set_cursor(conn, seq)

        self._faces.add_many([NewTemplate("enrolled", vendor, None, vec.astype(np.float32),
                                          session, protected=True)], extra=record)
        report.added += 1

    def _own_template(self, eid: str) -> int | None:
        prefix = f"{self._membership.device_id}:{self._db.booth_id[:12]}:"
        if not eid.startswith(prefix) or not eid[len(prefix):].isdigit():
            return None
        return int(eid[len(prefix):])

    def _review(self, msg: dict[str, Any]) -> None:
        """The hub found this booth's session to be a later enrolment of someone another booth
        enrolled first (both offline): the session goes In Review here too."""
        session = msg.get("session_id")
        if not isinstance(session, str):
            return
        note = json.dumps({"fleet_review": {
            "warning": "POSSIBLE_DUPLICATED_FACE", "matching_session": msg.get("matching_session"),
            "matching_device": msg.get("matching_device"),
            "similarity": msg.get("similarity")}})
        with self._db.transaction("marking a session In Review") as conn:
            conn.execute("UPDATE sessions SET status = 'In Review', data = json_patch("
                         "coalesce(data, '{}'), ?), updated_at = strftime("
                         "'%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?", (note, session))
        log.info("session %s put In Review by the hub (fleet duplicate)", session)
