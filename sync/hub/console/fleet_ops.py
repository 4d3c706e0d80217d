"""Fleet operations shared by the console and `poh hub ...`: the devices with what their
retained status says, revoking one, publishing a workflow to a fleet, and fleet-wide erasure
with the booths' confirmations. Each change is in the audit log.

What must reach the booths is written to the hub database here and sent by the ops worker of
`poh hub run` (a workflow: signed, retained on poh/v1/{fleet}/config) or done by the fleet's
template worker (an erasure: sync.hub.templates.FleetTemplates.forget, the delta log's one
writer); the booths confirm an erasure by their template cursors, a workflow by the version in
their status.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import sqlalchemy as sa

from sync.canonical import canonical_bytes
from sync.hub import registry
from sync.hub.console import audit
from sync.hub.console.tables import device_status, erasure_requests, workflow_publications
from sync.hub.db import now_iso
from sync.hub.fleet_tables import fleet_booths, fleet_erasures
from sync.hub.schema import devices, verdicts
from sync.strict_json import InputError, parse_json

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_WORKFLOW_BYTES = 256 * 1024


class FleetOpsError(ValueError):
    """A fleet operation that cannot be done; str() is one line."""


def _latest(*stamps: str | None) -> str | None:
    present = [s for s in stamps if s]
    return max(present) if present else None


def device_list(engine: sa.Engine, fleet: str | None = None) -> list[dict[str, Any]]:
    """Registered devices with their last status, backlog, workflow and when last heard of."""
    last_verdict = (sa.select(verdicts.c.fleet_id, verdicts.c.device_id,
                              sa.func.max(verdicts.c.received_at).label("at"),
                              sa.func.count().label("n"))
                    .group_by(verdicts.c.fleet_id, verdicts.c.device_id).subquery())
    d, s, b = devices, device_status, fleet_booths
    q = (sa.select(d.c.fleet_id, d.c.device_id, d.c.key_id, d.c.registered_at, d.c.revoked_at,
                   d.c.revoked_reason, s.c.state, s.c.backlog, s.c.last_sync, s.c.workflow_id,
                   s.c.workflow_version, s.c.workflow_error, s.c.review_cursor,
                   s.c.received_at.label("status_at"), last_verdict.c.at.label("verdict_at"),
                   last_verdict.c.n.label("verdicts"), b.c.last_seen.label("templates_at"),
                   b.c.cursor.label("template_cursor"))
         .outerjoin(s, sa.and_(s.c.fleet_id == d.c.fleet_id, s.c.device_id == d.c.device_id))
         .outerjoin(last_verdict, sa.and_(last_verdict.c.fleet_id == d.c.fleet_id,
                                          last_verdict.c.device_id == d.c.device_id))
         .outerjoin(b, sa.and_(b.c.fleet_id == d.c.fleet_id, b.c.device_id == d.c.device_id))
         .order_by(d.c.fleet_id, d.c.device_id))
    if fleet is not None:
        q = q.where(d.c.fleet_id == fleet)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    for r in rows:
        r["last_seen"] = _latest(r["status_at"], r["verdict_at"], r["templates_at"])
        r["verdicts"] = int(r["verdicts"] or 0)
        r["state"] = "revoked" if r["revoked_at"] else (r["state"] or "unknown")
    return rows


def revoke(engine: sa.Engine, actor: str, fleet: str, device: str, reason: str) -> None:
    reason = " ".join(reason.split())
    if not reason:
        raise FleetOpsError("revoking a device needs a reason")
    try:
        registry.revoke_device(engine, fleet, device, reason)
    except registry.RegistryError as exc:
        raise FleetOpsError(str(exc)) from None
    audit.add(engine, actor, "revoke", f"{fleet}/{device}", reason)


def check_workflow(document: bytes | str) -> tuple[dict[str, Any], str, int]:
    """The hub's check of a workflow document before it is published: a JSON object with a
    workflow_id, a version and a LIVENESS feature. The booth checks it completely (every
    field, every threshold) before it applies it, and reports a refusal in its status."""
    raw = document.encode("utf-8") if isinstance(document, str) else document
    if len(raw) > MAX_WORKFLOW_BYTES:
        raise FleetOpsError(f"a workflow has at most {MAX_WORKFLOW_BYTES} bytes")
    try:
        doc = parse_json(raw, max_bytes=MAX_WORKFLOW_BYTES)
    except InputError as exc:
        raise FleetOpsError(f"workflow: {exc}") from None
    if not isinstance(doc, dict):
        raise FleetOpsError("workflow: a workflow must be a JSON object")
    wid, version = doc.get("workflow_id"), doc.get("version")
    if not isinstance(wid, str) or not _ID.match(wid):
        raise FleetOpsError("workflow: workflow_id must be 1-64 letters, digits, '_.-'")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FleetOpsError("workflow: version must be a whole number from 1")
    features = doc.get("features")
    if not isinstance(features, list) or not any(
            isinstance(f, dict) and f.get("feature") == "LIVENESS" for f in features):
        raise FleetOpsError("workflow: a Proof-of-Human workflow needs the LIVENESS feature")
    return doc, wid, version


def publish_workflow(engine: sa.Engine, actor: str, fleet: str, document: bytes | str) -> int:
    """Queue a workflow for the fleet (the ops worker publishes it); returns the publication
    number. The same id and version with other content is refused: booths sign the version
    into every verdict, so one version must mean one set of rules."""
    if not _ID.match(fleet):
        raise FleetOpsError(f"fleet id {fleet!r}: 1-64 letters, digits, '_.-'")
    doc, wid, version = check_workflow(document)
    text = canonical_bytes(doc).decode("utf-8")
    with engine.begin() as conn:
        same = conn.execute(sa.select(workflow_publications.c.document).where(
            workflow_publications.c.fleet_id == fleet,
            workflow_publications.c.workflow_id == wid,
            workflow_publications.c.workflow_version == version)).first()
        if same is not None and same.document != text:
            raise FleetOpsError(f"workflow {wid} v{version} was published with other content: "
                                "raise its version")
        pub = conn.execute(workflow_publications.insert().values(
            fleet_id=fleet, workflow_id=wid, workflow_version=version, document=text,
            published_by=actor, created_at=now_iso()).returning(
            workflow_publications.c.publication)).scalar_one()
        audit.record(conn, actor, "publish_workflow", f"{fleet}: {wid} v{version}",
                     None, f"publication {pub}")
    return int(pub)


def workflows(engine: sa.Engine, fleet: str | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
    w = workflow_publications
    q = sa.select(w.c.publication, w.c.fleet_id, w.c.workflow_id, w.c.workflow_version,
                  w.c.published_by, w.c.created_at, w.c.sent_at).order_by(
        w.c.publication.desc()).limit(limit)
    if fleet is not None:
        q = q.where(w.c.fleet_id == fleet)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def request_erasure(engine: sa.Engine, actor: str, fleet: str, vendor_data: str,
                    reason: str) -> int:
    """Ask for a person's erasure fleet-wide; the fleet's template worker does it."""
    reason = " ".join(reason.split())
    if not vendor_data or len(vendor_data) > 500:
        raise FleetOpsError("vendor_data: 1 to 500 characters")
    if not reason:
        raise FleetOpsError("an erasure needs a reason")
    if not _ID.match(fleet):
        raise FleetOpsError(f"fleet id {fleet!r}: 1-64 letters, digits, '_.-'")
    digest = hashlib.sha256(vendor_data.encode("utf-8")).hexdigest()[:16]
    with engine.begin() as conn:
        rid = conn.execute(erasure_requests.insert().values(
            fleet_id=fleet, vendor_data=vendor_data, vendor_digest=digest, requested_by=actor,
            reason=reason[:1000], created_at=now_iso()).returning(
            erasure_requests.c.id)).scalar_one()
        # the audit names the request and a digest, not the person
        audit.record(conn, actor, "erase", f"{fleet}: request {rid} (sha256 {digest})",
                     reason)
    return int(rid)


def erasures(engine: sa.Engine, fleet: str | None = None, limit: int = 100
             ) -> list[dict[str, Any]]:
    """Requests with their outcome and, once done, which booths confirmed the erasure (their
    template cursor passed its delta) and which have not yet."""
    e = erasure_requests
    q = sa.select(e.c.id, e.c.fleet_id, e.c.vendor_digest, e.c.requested_by, e.c.reason,
                  e.c.created_at, e.c.done_at, e.c.erasure_seq, e.c.outcome).order_by(
        e.c.id.desc()).limit(limit)
    if fleet is not None:
        q = q.where(e.c.fleet_id == fleet)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
        booths: dict[str, list[Any]] = {}
        for b in conn.execute(sa.select(fleet_booths.c.fleet_id, fleet_booths.c.device_id,
                                        fleet_booths.c.cursor)):
            booths.setdefault(b.fleet_id, []).append(b)
        erased = {(r.fleet_id, r.seq): r.entries for r in conn.execute(
            sa.select(fleet_erasures.c.fleet_id, fleet_erasures.c.seq, fleet_erasures.c.entries))}
    for r in rows:
        seq = r["erasure_seq"]
        fleet_booth = booths.get(r["fleet_id"], [])
        r["templates"] = erased.get((r["fleet_id"], seq), 0) if seq is not None else 0
        r["confirmed"] = sorted(b.device_id for b in fleet_booth
                                if seq is not None and b.cursor >= seq)
        r["pending"] = sorted(b.device_id for b in fleet_booth
                              if seq is not None and b.cursor < seq)
        r["state"] = ("waiting for the hub's template worker" if r["done_at"] is None
                      else "nothing of this person at the hub" if seq is None
                      else "confirmed by every booth" if not r["pending"]
                      else "waiting for booths")
    return rows


def workflow_document(engine: sa.Engine, publication: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(workflow_publications.c.document).where(
            workflow_publications.c.publication == publication)).first()
    if row is None:
        raise FleetOpsError(f"no workflow publication {publication}")
    doc = json.loads(row.document)
    return dict(doc)
