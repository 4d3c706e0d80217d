"""SQL for the templates table (and the person-linked rows erased with them).

Functions take a connection and leave transactions to the caller, so a multi-step change
(insert + index add, key rotation) commits as one unit or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storage.database import Connection
from storage.errors import DatabaseCorruptError, KeyGenerationError
from storage.faults import fault_point
from storage.fleet_state import request_erasure
from storage.protection import TemplateProtector

KINDS = ("enrolled", "blocklist")
_READ_CHUNK = 50_000
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class NewTemplate:
    kind: str
    vendor_data: str | None
    reason: str | None
    embedding: F32  # raw, L2-normalised; rotated before it is stored
    session_id: str | None = None
    # already rotated under the key in force (a fleet's template: the fleet rotation is this
    # booth's); stored as it is
    protected: bool = False


def stored_vectors(prot: TemplateProtector, items: Sequence[NewTemplate]) -> F32:
    """The rotated, unit-length vectors of `items`, as insert stores them."""
    out = np.empty((len(items), prot.dim), dtype=np.float32)
    raw = [n for n, i in enumerate(items) if not i.protected]
    if raw:
        out[raw] = prot.protect(np.stack([np.asarray(items[n].embedding) for n in raw]))
    for n, it in enumerate(items):
        if it.protected:
            v = np.asarray(it.embedding, dtype=np.float64).reshape(-1)
            norm = float(np.linalg.norm(v)) if v.shape[0] == prot.dim else 0.0
            if not np.isfinite(norm) or norm == 0.0:
                raise ValueError(f"a protected template is not a {prot.dim}-d unit vector")
            out[n] = (v / norm).astype(np.float32)
    return out


@dataclass(frozen=True)
class TemplateInfo:
    template_id: int
    kind: str
    vendor_data: str | None
    reason: str | None
    session_id: str | None
    created_at: str


def insert(conn: Connection, prot: TemplateProtector, items: Sequence[NewTemplate]) -> I64:
    """Insert rotated templates; return their ids (monotonic, never reused)."""
    for it in items:
        if it.kind not in KINDS:
            raise ValueError(f"unknown template kind {it.kind!r}")
    rotated = stored_vectors(prot, items)
    ids = np.empty(len(items), dtype=np.int64)
    for n, (it, vec) in enumerate(zip(items, rotated, strict=True)):
        cur = conn.execute(
            "INSERT INTO templates (vendor_data, session_id, kind, reason, template, "
            "key_generation) VALUES (?, ?, ?, ?, ?, ?)",
            (it.vendor_data, it.session_id, it.kind, it.reason, vec.astype("<f4").tobytes(),
             prot.generation),
        )
        ids[n] = int(cur.lastrowid)
    return ids


def id_watermark(conn: Connection) -> int:
    """The largest template id ever issued (AUTOINCREMENT's counter), 0 when none."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'templates'").fetchone()
    return int(row[0]) if row else 0


def load(conn: Connection, kind: str, generation: int, dim: int, above: int = 0,
         upto: int | None = None) -> tuple[I64, F32]:
    """(ids, rotated vectors) of one kind with above < id <= upto, in id order."""
    limit = upto if upto is not None else 2**62
    id_parts: list[I64] = []
    vec_parts: list[F32] = []
    last = above
    while True:
        rows = conn.execute(
            "SELECT id, template, key_generation FROM templates WHERE kind = ? AND id > ? "
            "AND id <= ? ORDER BY id LIMIT ?", (kind, last, limit, _READ_CHUNK)
        ).fetchall()
        if not rows:
            break
        if any(r[2] != generation for r in rows):
            raise mixed_generations(conn, generation)
        blob = b"".join(bytes(r[1]) for r in rows)
        if len(blob) != len(rows) * dim * 4:
            raise DatabaseCorruptError("a stored template has the wrong size")
        id_parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        vec_parts.append(np.frombuffer(blob, dtype="<f4").reshape(len(rows), dim)
                         .astype(np.float32))
        last = int(rows[-1][0])
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    return np.concatenate(id_parts), np.concatenate(vec_parts)


def ids_of_kind(conn: Connection, kind: str, upto: int) -> I64:
    rows = conn.execute("SELECT id FROM templates WHERE kind = ? AND id <= ?",
                        (kind, upto)).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def describe(conn: Connection, ids: Sequence[int]) -> dict[int, TemplateInfo]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT id, kind, vendor_data, reason, session_id, created_at FROM templates "
        f"WHERE id IN ({marks})", list(ids),
    ).fetchall()
    return {int(r[0]): TemplateInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows}


@dataclass(frozen=True)
class Erased:
    template_ids: tuple[int, ...]
    kinds: tuple[str, ...]
    sessions: int
    verdicts: int
    session_ids: tuple[str, ...] = ()


def erase_person(conn: Connection, vendor_data: str) -> Erased:
    """Delete a person's templates, sessions and the verdicts and outbox rows of those sessions."""
    rows = conn.execute("SELECT id, kind FROM templates WHERE vendor_data = ?",
                        (vendor_data,)).fetchall()
    verdicts = conn.execute(
        "SELECT count(*) FROM verdicts WHERE session_id IN "
        "(SELECT id FROM sessions WHERE vendor_data = ?)", (vendor_data,)
    ).fetchone()[0]
    session_ids = tuple(str(r[0]) for r in conn.execute(
        "SELECT id FROM sessions WHERE vendor_data = ?", (vendor_data,)).fetchall())
    conn.execute("DELETE FROM templates WHERE vendor_data = ?", (vendor_data,))
    request_erasure(conn, vendor_data)  # a fleet booth tells the hub (storage.fleet_state)
    sessions = conn.execute("DELETE FROM sessions WHERE vendor_data = ?", (vendor_data,)).rowcount
    return Erased(tuple(int(r[0]) for r in rows), tuple(str(r[1]) for r in rows),
                  int(sessions), int(verdicts), session_ids)


def rekey(conn: Connection, old: TemplateProtector, new: TemplateProtector, dim: int,
          chunk: int = 1000) -> int:
    """Re-rotate every template from `old` to `new` (R' R^T t); caller holds the transaction."""
    if count_strays(conn, old.generation):
        raise mixed_generations(conn, old.generation)
    mat = old.rekey_matrix(new)
    done = 0
    last = 0
    while True:
        rows = conn.execute("SELECT id, template FROM templates WHERE id > ? ORDER BY id LIMIT ?",
                            (last, chunk)).fetchall()
        if not rows:
            break
        vecs = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype="<f4")
        vecs = vecs.reshape(len(rows), dim).astype(np.float64) @ mat.T
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        conn.executemany(
            "UPDATE templates SET template = ?, key_generation = ? WHERE id = ?",
            [(v.astype("<f4").tobytes(), new.generation, int(r[0]))
             for v, r in zip(vecs, rows, strict=True)],
        )
        done += len(rows)
        last = int(rows[-1][0])
        fault_point("rotate-midway")
    return done


@dataclass(frozen=True)
class StrayTemplate:
    """A template stored under another key generation than the database's current one."""

    template_id: int
    kind: str
    vendor_data: str | None
    reason: str | None
    session_id: str | None
    key_generation: int


def count_strays(conn: Connection, generation: int) -> int:
    return int(conn.execute("SELECT count(*) FROM templates WHERE key_generation != ?",
                            (generation,)).fetchone()[0])


def strays(conn: Connection, generation: int) -> list[StrayTemplate]:
    rows = conn.execute(
        "SELECT id, kind, vendor_data, reason, session_id, key_generation FROM templates "
        "WHERE key_generation != ? ORDER BY id", (generation,)).fetchall()
    return [StrayTemplate(int(r[0]), str(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]


def delete_ids(conn: Connection, ids: Sequence[int]) -> None:
    conn.executemany("DELETE FROM templates WHERE id = ?", [(int(i),) for i in ids])


def mixed_generations(conn: Connection, generation: int) -> KeyGenerationError:
    """The error for a database whose templates are not all of `generation`."""
    found = dict(conn.execute(
        "SELECT key_generation, count(*) FROM templates WHERE key_generation != ? "
        "GROUP BY key_generation", (generation,)).fetchall())
    others = ", ".join(f"{n} of generation {g}" for g, n in sorted(found.items()))
    return KeyGenerationError(
        f"the database holds templates of another key generation than its key "
        f"(generation {generation}; {others or 'some'}): an enrolment raced a key rotation in "
        "an older program; run `poh keys repair`")


def counts(conn: Connection) -> dict[str, int]:
    out = {k: 0 for k in KINDS}
    for kind, n in conn.execute("SELECT kind, count(*) FROM templates GROUP BY kind"):
        out[str(kind)] = int(n)
    return out
