"""The hub's side of fleet-wide uniqueness: the fleet index, 1:N on arrival, the delta log.

A booth's report (sync.template_sync) brings its new enrolments (protected templates, sealed
under the fleet key), its erasures and its cursor. For each new template the hub searches the
fleet index first: a match at or above the review threshold means two booths enrolled one
person (both were offline, or the later booth had not merged the earlier enrolment yet); the
LATER enrolment's session is put In Review with POSSIBLE_DUPLICATED_FACE and the matching
session, and its booth is told. Every addition and erasure becomes a delta with the fleet's next
sequence number, stored, then published (sealed and signed) to every booth; a booth behind its
cursor gets what it misses on its own command topic. An erasure (a booth's `poh forget`, or
`forget` here) removes every template of the person, voids their additions in the log, and is
confirmed by each booth when its cursor passes the erasure's number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.protection import DIM
from sync.canonical import canonical_bytes
from sync.fleet.envelope import EnvelopeError, open_message, seal, template_b64, template_bytes
from sync.hub.db import now_iso
from sync.hub.evidence import erase_person as erase_evidence
from sync.hub.fleet_index import FleetIndex
from sync.hub.fleet_tables import (
    fleet_booths,
    fleet_deltas,
    fleet_erased,
    fleet_erasures,
    fleet_metadata,
    fleet_reviews,
    fleet_templates,
)
from sync.hub.webhooks.events import on_fleet_review
from sync.strict_json import parse_json

log = logging.getLogger(__name__)

Outgoing = tuple[str, bytes]
CATCH_UP_BATCH = 200
HUB = "hub"


def _derive(key: bytes, purpose: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None,
                info=f"poh-hub/{purpose}/v1".encode()).derive(key)


@dataclass(frozen=True)
class Review:
    entry_id: str
    device_id: str
    session_id: str | None
    matching_entry: str
    matching_device: str
    matching_session: str | None
    similarity: float


class FleetTemplates:
    def __init__(self, engine: sa.Engine, fleet_id: str, template_key: bytes,
                 signer: Ed25519PrivateKey, review_threshold: float = 0.53,
                 index: FleetIndex | None = None) -> None:
        self.engine = engine
        self.fleet_id = fleet_id
        self._key = template_key
        self._rest = AESGCM(_derive(template_key, "at-rest"))
        self._vendor_key = _derive(template_key, "vendor-hash")
        self._signer = signer
        self.review_threshold = review_threshold
        self.shared_topic = f"poh/v1/{fleet_id}/templates"
        fleet_metadata.create_all(engine)
        self.index = index or FleetIndex()
        self._load()

    def subscriptions(self) -> list[tuple[str, int]]:
        return [(f"poh/v1/{self.fleet_id}/+/templates", 1)]

    # --- sealing at rest -------------------------------------------------------------------

    def _seal(self, what: str, doc: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._rest.encrypt(nonce, canonical_bytes(doc),
                                          f"{self.fleet_id}|{what}".encode())

    def _unseal(self, what: str, blob: bytes) -> dict[str, Any]:
        doc = parse_json(self._rest.decrypt(blob[:12], blob[12:],
                                            f"{self.fleet_id}|{what}".encode()))
        if not isinstance(doc, dict):
            raise ValueError("sealed record is not an object")
        return doc

    def vendor_hash(self, vendor_data: str) -> str:
        return hmac.new(self._vendor_key, vendor_data.encode("utf-8"),
                        hashlib.sha256).hexdigest()

    def _load(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fleet_templates.c.index_id, fleet_templates.c.entry_id,
                                          fleet_templates.c.sealed).where(
                fleet_templates.c.fleet_id == self.fleet_id)).all()
        if not rows:
            return
        ids = np.array([r.index_id for r in rows], dtype=np.int64)
        vecs = np.stack([np.frombuffer(template_bytes(
            self._unseal(f"template|{r.entry_id}", r.sealed)["template"], DIM), dtype="<f4")
            for r in rows]).astype(np.float32)
        self.index.load(ids, vecs)
        log.info("fleet %s: %d templates loaded into the fleet index", self.fleet_id, len(ids))

    # --- messages ---------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Outgoing]:
        """A booth's report on poh/v1/{fleet}/{device}/templates -> what to publish."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[:3] != ["poh", "v1", self.fleet_id] or parts[4] != (
                "templates"):
            return []
        device = parts[3]
        try:
            msg = open_message(self._key, topic, payload)
        except EnvelopeError as exc:
            log.warning("template report from %s refused: %s", device, exc)
            return []
        if msg["type"] != "sync":
            return []
        cursor = msg.get("cursor")
        with self.engine.begin() as conn:
            last = self._last_seq(conn)
        out: list[Outgoing] = []
        new: list[dict[str, Any]] = []
        for vendor in msg.get("erasures") or []:
            if isinstance(vendor, str) and vendor:
                delta, ack = self._erase(vendor, device)
                new += delta
                if ack:
                    out.append(self._direct(device, {"type": "erase_ack",
                                                     "vendor_data": [vendor]}))
        added: list[int] = []
        reviews: list[Review] = []
        try:
            # one transaction for the report's additions (one fsync, not one per template)
            with self.engine.begin() as conn:
                for add in msg.get("adds") or []:
                    if isinstance(add, dict):
                        delta, review = self._add(conn, add, device, added)
                        new += delta
                        reviews += [review] if review is not None else []
        except BaseException:
            self.index.remove(added)  # searchable only once committed
            raise
        for review in reviews:
            out.append(self._direct(review.device_id, {
                "type": "review", "session_id": review.session_id,
                "entry_id": review.entry_id, "warning": "POSSIBLE_DUPLICATED_FACE",
                "matching_session": review.matching_session,
                "matching_device": review.matching_device,
                "similarity": round(review.similarity, 4)}))
        if isinstance(cursor, int) and 0 <= cursor:
            self._seen(device, min(cursor, last))
            behind = self.deltas_after(cursor, upto=last)
            if behind:
                out.insert(0, self._direct(device, {"type": "deltas", "deltas": behind}))
        if new:
            out.insert(0, (self.shared_topic, seal(self._key, self.shared_topic, {
                "type": "deltas", "deltas": new}, self._signer)))
        return out

    def _direct(self, device: str, message: dict[str, Any]) -> Outgoing:
        topic = f"poh/v1/{self.fleet_id}/{device}/cmd/templates"
        return topic, seal(self._key, topic, message, self._signer)

    def _seen(self, device: str, cursor: int) -> None:
        from sync.hub.db import insert

        stmt = insert(self.engine, fleet_booths).values(
            fleet_id=self.fleet_id, device_id=device, cursor=cursor, last_seen=now_iso())
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["fleet_id", "device_id"],
                set_={"cursor": sa.func.max(fleet_booths.c.cursor, stmt.excluded.cursor)
                      if self.engine.dialect.name == "sqlite"
                      else sa.func.greatest(fleet_booths.c.cursor, stmt.excluded.cursor),
                      "last_seen": stmt.excluded.last_seen}))

    # --- the log ----------------------------------------------------------------------------

    def _last_seq(self, conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(fleet_deltas.c.seq), 0))
                                .where(fleet_deltas.c.fleet_id == self.fleet_id)).scalar_one())

    def _append(self, conn: sa.Connection, op: str, entry_id: str | None,
                body: dict[str, Any]) -> dict[str, Any]:
        seq = self._last_seq(conn) + 1
        delta = {**body, "seq": seq, "op": op}
        conn.execute(fleet_deltas.insert().values(
            fleet_id=self.fleet_id, seq=seq, op=op, entry_id=entry_id,
            sealed=self._seal(f"delta|{seq}", delta), created_at=now_iso()))
        return delta

    def deltas_after(self, cursor: int, upto: int | None = None,
                     limit: int = CATCH_UP_BATCH) -> list[dict[str, Any]]:
        q = sa.select(fleet_deltas.c.seq, fleet_deltas.c.op, fleet_deltas.c.sealed).where(
            fleet_deltas.c.fleet_id == self.fleet_id, fleet_deltas.c.seq > cursor)
        if upto is not None:
            q = q.where(fleet_deltas.c.seq <= upto)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(fleet_deltas.c.seq).limit(limit)).all()
        return [{"seq": r.seq, "op": "void"} if r.sealed is None
                else self._unseal(f"delta|{r.seq}", r.sealed) for r in rows]

    # --- additions --------------------------------------------------------------------------

    def _add(self, conn: sa.Connection, add: dict[str, Any], device: str, added: list[int]
             ) -> tuple[list[dict[str, Any]], Review | None]:
        eid = add.get("entry_id")
        vendor = add.get("vendor_data")
        if not isinstance(eid, str) or not eid.startswith(f"{device}:") or len(eid) > 200 or (
                not isinstance(vendor, str) or not vendor):
            log.warning("template from %s refused: not its own entry, or no person", device)
            return [], None
        try:
            raw = template_bytes(add.get("template"), DIM)
        except EnvelopeError as exc:
            log.warning("template %s refused: %s", eid, exc)
            return [], None
        vec = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        norm = float(np.linalg.norm(vec))
        if not np.isfinite(norm) or abs(norm - 1.0) > 1e-3:
            log.warning("template %s refused: not a unit vector", eid)
            return [], None
        session = add.get("session_id") if isinstance(add.get("session_id"), str) else None
        enrolled = str(add.get("enrolled_at") or now_iso())
        known = conn.execute(sa.select(fleet_templates.c.entry_id).where(
            fleet_templates.c.entry_id == eid)).first() or conn.execute(
            sa.select(fleet_erased.c.entry_id).where(fleet_erased.c.entry_id == eid)).first()
        if known:
            return [], None
        hits = self.index.search(vec, 3)
        delta = self._append(conn, "add", eid, {
            "entry_id": eid, "origin_device": device, "origin_session": session,
            "vendor_data": vendor, "enrolled_at": enrolled, "template": template_b64(raw)})
        seq = int(delta["seq"])
        conn.execute(fleet_templates.insert().values(
            fleet_id=self.fleet_id, index_id=seq, entry_id=eid, origin_device=device,
            origin_session=session, vendor_hash=self.vendor_hash(vendor),
            enrolled_at=enrolled, sealed=self._seal(f"template|{eid}", {
                "template": template_b64(raw), "vendor_data": vendor})))
        review = self._review(conn, hits, eid, device, session, enrolled)
        self.index.add(seq, vec)  # the next addition of this report is compared with it
        added.append(seq)
        return [delta], review

    def _review(self, conn: sa.Connection, hits: list[Any], eid: str, device: str,
                session: str | None, enrolled: str) -> Review | None:
        best = hits[0] if hits else None
        if best is None or best.cosine < self.review_threshold:
            return None
        other = conn.execute(sa.select(fleet_templates).where(
            fleet_templates.c.fleet_id == self.fleet_id,
            fleet_templates.c.index_id == best.template_id)).first()
        if other is None:
            return None
        mine = (eid, device, session)
        theirs = (other.entry_id, other.origin_device, other.origin_session)
        # the LATER enrolment goes to review (ties: the one that arrived last)
        later, earlier = (theirs, mine) if other.enrolled_at > enrolled else (mine, theirs)
        review = Review(later[0], later[1], later[2], earlier[0], earlier[1], earlier[2],
                        float(best.cosine))
        conn.execute(fleet_reviews.insert().values(
            fleet_id=self.fleet_id, entry_id=review.entry_id, device_id=review.device_id,
            session_id=review.session_id, matching_entry=review.matching_entry,
            matching_device=review.matching_device, matching_session=review.matching_session,
            similarity=review.similarity, created_at=now_iso()))
        on_fleet_review(conn, review.session_id)  # the session's status and its webhook
        log.info("fleet duplicate: session %s of %s In Review (matches %s of %s, %.3f)",
                 review.session_id, review.device_id, review.matching_session,
                 review.matching_device, review.similarity)
        return review

    # --- erasure ----------------------------------------------------------------------------

    def _erase(self, vendor_data: str, requested_by: str
               ) -> tuple[list[dict[str, Any]], bool]:
        """([the erase delta], False), or ([], True) when nothing of the person is left."""
        h = self.vendor_hash(vendor_data)
        with self.engine.begin() as conn:
            # review frames too, also of a person with no template (a session In Review)
            erase_evidence(conn, self.fleet_id, vendor_data)
            rows = conn.execute(sa.select(fleet_templates.c.index_id, fleet_templates.c.entry_id)
                                .where(fleet_templates.c.fleet_id == self.fleet_id,
                                       fleet_templates.c.vendor_hash == h)).all()
            if not rows:
                return [], True
            entries = [r.entry_id for r in rows]
            conn.execute(fleet_templates.delete().where(
                fleet_templates.c.fleet_id == self.fleet_id, fleet_templates.c.vendor_hash == h))
            conn.execute(fleet_erased.insert(), [{"entry_id": e, "erased_at": now_iso()}
                                                 for e in entries])
            conn.execute(fleet_deltas.update().where(
                fleet_deltas.c.fleet_id == self.fleet_id, fleet_deltas.c.op == "add",
                fleet_deltas.c.entry_id.in_(entries)).values(op="void", sealed=None))
            conn.execute(fleet_reviews.delete().where(
                fleet_reviews.c.fleet_id == self.fleet_id, sa.or_(
                    fleet_reviews.c.entry_id.in_(entries),
                    fleet_reviews.c.matching_entry.in_(entries))))
            # index_ids: the hub's own index positions, so that every hub process holding
            # the index (it watches its own deltas) drops them too
            delta = self._append(conn, "erase", None, {
                "entry_ids": entries, "vendor_data": [vendor_data],
                "index_ids": [int(r.index_id) for r in rows]})
            conn.execute(fleet_erasures.insert().values(
                fleet_id=self.fleet_id, seq=delta["seq"], requested_by=requested_by,
                entries=len(entries), created_at=now_iso()))
        self.index.remove([int(r.index_id) for r in rows])
        log.info("fleet erasure %d: %d templates (asked by %s)", delta["seq"], len(entries),
                 requested_by)
        return [delta], False

    def observe(self, topic: str, payload: bytes) -> None:
        """The hub's own deltas, as published (maybe by another hub process: `forget` from
        the command line): drop erased templates from this process's index."""
        if topic != self.shared_topic:
            return
        try:
            msg = open_message(self._key, topic, payload, signer=self._signer.public_key())
        except EnvelopeError as exc:
            log.warning("a message on %s does not come from this hub: %s", topic, exc)
            return
        for d in msg.get("deltas") or []:
            if isinstance(d, dict) and d.get("op") == "erase":
                self.index.remove([int(i) for i in d.get("index_ids") or []
                                   if isinstance(i, int)])

    def forget(self, vendor_data: str) -> tuple[int | None, list[Outgoing]]:
        """Erase a person fleet-wide from the hub: (the erasure's seq or None, to publish)."""
        delta, _ = self._erase(vendor_data, HUB)
        if not delta:
            return None, []
        return int(delta[0]["seq"]), [(self.shared_topic, seal(
            self._key, self.shared_topic, {"type": "deltas", "deltas": delta}, self._signer))]

    # --- reports ----------------------------------------------------------------------------

    def erasures(self) -> list[dict[str, Any]]:
        """Each erasure with the booths that confirmed it (cursor past it) and those not yet."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fleet_erasures).where(
                fleet_erasures.c.fleet_id == self.fleet_id).order_by(fleet_erasures.c.seq)).all()
            booths = conn.execute(sa.select(fleet_booths.c.device_id, fleet_booths.c.cursor)
                                  .where(fleet_booths.c.fleet_id == self.fleet_id)).all()
        return [{"seq": r.seq, "requested_by": r.requested_by, "templates": r.entries,
                 "at": r.created_at,
                 "confirmed": sorted(b.device_id for b in booths if b.cursor >= r.seq),
                 "pending": sorted(b.device_id for b in booths if b.cursor < r.seq)}
                for r in rows]

    def reviews(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fleet_reviews).where(
                fleet_reviews.c.fleet_id == self.fleet_id)).all()
        return [{k: getattr(r, k) for k in ("device_id", "session_id", "matching_device",
                                            "matching_session", "similarity")} for r in rows]

    def counts(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            def n(table: sa.Table) -> int:
                return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.fleet_id == self.fleet_id)).scalar_one())
            booths = {r.device_id: r.cursor for r in conn.execute(sa.select(
                fleet_booths.c.device_id, fleet_booths.c.cursor).where(
                fleet_booths.c.fleet_id == self.fleet_id))}
            out = {"fleet_id": self.fleet_id, "templates": n(fleet_templates),
                   "index_size": len(self.index), "last_seq": self._last_seq(conn),
                   "erasures": n(fleet_erasures), "reviews": n(fleet_reviews),
                   "booth_cursors": booths}
        return out
