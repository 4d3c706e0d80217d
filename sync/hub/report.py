"""What the hub holds: counts for `poh hub status`, and a re-verification of every stored
verdict against the registry for `poh hub audit` (the proof that what arrived is untampered)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sync.hub.registry import lookup
from sync.hub.schema import devices, refusals, verdicts
from sync.verdict import VerdictError, verify_verdict_bytes


def status(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        per_device = conn.execute(
            sa.select(verdicts.c.fleet_id, verdicts.c.device_id, sa.func.count(),
                      sa.func.max(verdicts.c.sequence))
            .group_by(verdicts.c.fleet_id, verdicts.c.device_id)).all()
        refused = conn.execute(
            sa.select(refusals.c.reason, sa.func.count(), sa.func.sum(refusals.c.times))
            .group_by(refusals.c.reason)).all()
        devs = conn.execute(sa.select(devices.c.fleet_id, devices.c.device_id,
                                      devices.c.key_id, devices.c.revoked_at)).all()
    return {
        "verdicts": sum(int(r[2]) for r in per_device),
        "by_device": [{"fleet": r[0], "device": r[1], "verdicts": int(r[2]),
                       "max_sequence": int(r[3])} for r in per_device],
        "refusals": [{"reason": r[0], "verdicts": int(r[1]), "times": int(r[2])}
                     for r in refused],
        "devices": [{"fleet": r[0], "device": r[1], "key_id": r[2],
                     "revoked_at": r[3]} for r in devs],
    }


@dataclass
class Audit:
    verified: int = 0
    failed: list[str] = field(default_factory=list)
    gaps: dict[str, list[int]] = field(default_factory=dict)  # device -> missing sequences

    @property
    def ok(self) -> bool:
        return not self.failed


def audit(engine: sa.Engine, batch: int = 2000) -> Audit:
    """Verify every stored verdict's signature with its device's registered key, and list the
    sequence numbers a device has not delivered yet (gaps below its highest)."""
    out = Audit()
    seen: dict[tuple[str, str], list[int]] = {}
    with engine.connect() as conn:
        keys: dict[tuple[str, str], Any] = {}
        last = 0
        while True:
            rows = conn.execute(sa.select(verdicts.c.id, verdicts.c.fleet_id,
                                          verdicts.c.device_id, verdicts.c.sequence,
                                          verdicts.c.payload)
                                .where(verdicts.c.id > last).order_by(verdicts.c.id)
                                .limit(batch)).all()
            if not rows:
                break
            for r in rows:
                last = r.id
                ident = (r.fleet_id, r.device_id)
                if ident not in keys:
                    keys[ident] = lookup(conn, *ident)
                dev = keys[ident]
                try:
                    if dev is None:
                        raise VerdictError("device not in the registry")
                    verify_verdict_bytes(bytes(r.payload), dev.public)
                    out.verified += 1
                except VerdictError as exc:
                    out.failed.append(f"{r.fleet_id}/{r.device_id}#{r.sequence}: {exc}")
                seen.setdefault(ident, []).append(int(r.sequence))
    for (fleet, dev), seqs in seen.items():
        missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
        if missing:
            out.gaps[f"{fleet}/{dev}"] = missing[:100]
    return out
