"""Which template key is in force, read from the database, and the repair of mixed generations.

A process must never trust the key generation it loaded at start: `poh keys rotate` may commit
in another process at any time (the kiosk runs for days). So a write asks for the key inside its
own write transaction (the database's write lock keeps a rotation from committing in between),
and a search compares the generation it used with the stored one.

Only the current generation's rotation matrix is kept (a rotation keeps no old key, so that an
old template set that leaked cannot be linked to the renewed one). A template stored under any
other generation therefore cannot be re-keyed: it can never match again. The repair drops such
templates and names them (vendor data, session, blocklist reason) so that the people can be
enrolled again and blocklist entries added again.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import template_store
from storage.database import Connection
from storage.errors import DatabaseCorruptError
from storage.protection import TemplateProtector, load_protector, stored_generation
from storage.template_store import StrayTemplate


@dataclass(frozen=True)
class RepairReport:
    key_generation: int
    dropped: tuple[StrayTemplate, ...]  # templates whose key is gone (enrol these again)
    dry_run: bool


def stored_protector(conn: Connection, db_key: bytes) -> TemplateProtector:
    prot = load_protector(conn, db_key)
    if prot is None:
        raise DatabaseCorruptError("the template key is missing from the database")
    return prot


def protector_in_force(conn: Connection, db_key: bytes, known: TemplateProtector
                       ) -> TemplateProtector:
    """The database's current key: `known` when it still is, else the stored one.

    Call inside the write transaction that uses it. When the key moved, the templates are
    checked to be all of the new generation first (KeyGenerationError rolls the write back):
    the caller is about to load that generation's index, which must not be a mixed one."""
    if stored_generation(conn) == known.generation:
        return known
    return require_single_generation(conn, db_key)


def require_single_generation(conn: Connection, db_key: bytes) -> TemplateProtector:
    """The current key, or KeyGenerationError when templates of other generations remain."""
    prot = stored_protector(conn, db_key)
    if template_store.count_strays(conn, prot.generation):
        raise template_store.mixed_generations(conn, prot.generation)
    return prot


def drop_strays(conn: Connection, db_key: bytes, dry_run: bool
                ) -> tuple[TemplateProtector, RepairReport]:
    """Delete (unless dry_run) every template not of the current generation; caller commits."""
    prot = stored_protector(conn, db_key)
    found = tuple(template_store.strays(conn, prot.generation))
    if found and not dry_run:
        template_store.delete_ids(conn, [t.template_id for t in found])
    return prot, RepairReport(prot.generation, found, dry_run)


__all__ = ["RepairReport", "drop_strays", "protector_in_force", "require_single_generation",
           "stored_protector"]
