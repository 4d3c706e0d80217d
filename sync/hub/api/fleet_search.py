"""The fleet index as Didit's standalone face search sees it: a raw embedding of an uploaded
image, protected with the fleet's template rotation, searched 1:N over every booth's template.

The hub can do this only when the fleet operator opted in (`poh fleet hub-face-search`), which
copies the fleet's rotation seed into the hub folder (hub/rotation.seed). Without the seed the
hub holds the templates only in the rotated space and cannot place a new face in it, so
`FleetFaceSearch.from_hub_dir` raises `FaceSearchDisabled` and the API answers 403.

The API may run in another process than the template worker (`poh hub serve`), so this keeps
its own read-only copy of the fleet index, read from the (sealed) templates in the database
and read again whenever the stored set changed (its count or its newest addition).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.protection import DIM, TemplateProtector, random_orthogonal
from sync.hub.fleet_index import FleetIndex
from sync.hub.fleet_tables import fleet_metadata, fleet_templates
from sync.hub.templates import FleetTemplates

log = logging.getLogger(__name__)

ROTATION_FILE = "rotation.seed"
# the booths' workflow default (app.workflows.model.FaceSearchConfig, measured there with
# `poh eval dedup`): a match at or above it puts a session In Review; the hub uses the same
REVIEW_THRESHOLD = 0.53
MAX_MATCHES = 5


class FaceSearchDisabled(RuntimeError):
    """This hub cannot search faces (no opt-in by the fleet operator); str() is one line."""


@dataclass(frozen=True)
class FleetHit:
    session_id: str | None
    vendor_data: str
    cosine: float


def read_rotation_seed(hub_dir: Path) -> bytes:
    path = hub_dir / ROTATION_FILE
    if not path.is_file():
        raise FaceSearchDisabled(
            "face search is not enabled for this fleet's hub: the fleet operator has not "
            "given the hub the template rotation (poh fleet hub-face-search --fleet FLEET_DIR)")
    try:
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        seed = b""
    if len(seed) != 32:
        raise FaceSearchDisabled(f"{path} is not a 256-bit rotation seed")
    return seed


class FleetFaceSearch:
    def __init__(self, engine: sa.Engine, fleet_id: str, template_key: bytes,
                 protector: TemplateProtector, review_threshold: float = REVIEW_THRESHOLD,
                 max_matches: int = MAX_MATCHES) -> None:
        self.engine = engine
        self.fleet_id = fleet_id
        self.protector = protector
        self.review_threshold = review_threshold
        self.max_matches = max_matches
        self._key = template_key
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._templates: FleetTemplates | None = None
        fleet_metadata.create_all(engine)

    @classmethod
    def from_hub_dir(cls, engine: sa.Engine, hub_dir: Path, fleet_id: str
                     ) -> FleetFaceSearch:
        from sync.hub.template_worker import read_template_key

        seed = read_rotation_seed(hub_dir)  # FaceSearchDisabled first: the opt-in is missing
        try:
            key = read_template_key(hub_dir)
        except (OSError, ValueError) as exc:
            raise FaceSearchDisabled(f"hub folder {hub_dir}: no usable template.key "
                                     f"({exc})") from None
        return cls(engine, fleet_id, key, TemplateProtector(random_orthogonal(DIM, seed), 0))

    def _current(self) -> FleetTemplates:
        """The fleet's templates as stored now (read again when the stored set changed)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(
                sa.func.max(fleet_templates.c.index_id), 0)).where(
                fleet_templates.c.fleet_id == self.fleet_id)).one()
        stamp = (int(row[0]), int(row[1]))
        if self._templates is None or stamp != self._stamp:
            # FleetTemplates unseals and loads them; its signer is never used here (this
            # view publishes nothing), so a throwaway key stands in for the hub's
            self._templates = FleetTemplates(self.engine, self.fleet_id, self._key,
                                             Ed25519PrivateKey.generate(),
                                             index=FleetIndex())
            self._stamp = stamp
            log.info("face search: %d templates of fleet %s loaded", stamp[0], self.fleet_id)
        return self._templates

    def search(self, embedding: npt.NDArray[np.floating]) -> list[FleetHit]:
        """Matches at or above the review threshold, best first (at most max_matches)."""
        query = self.protector.protect(np.asarray(embedding, dtype=np.float32))
        with self._lock:
            templates = self._current()
            hits = [h for h in templates.index.search(query, self.max_matches)
                    if h.cosine >= self.review_threshold]
        if not hits:
            return []
        with self.engine.connect() as conn:
            rows = {r.index_id: r for r in conn.execute(sa.select(
                fleet_templates.c.index_id, fleet_templates.c.entry_id,
                fleet_templates.c.origin_session, fleet_templates.c.sealed).where(
                fleet_templates.c.fleet_id == self.fleet_id,
                fleet_templates.c.index_id.in_([h.template_id for h in hits])))}
        out = []
        for h in hits:
            r = rows.get(h.template_id)
            if r is None:  # erased since the index was read
                continue
            vendor = templates._unseal(f"template|{r.entry_id}", r.sealed)["vendor_data"]
            out.append(FleetHit(r.origin_session, str(vendor), float(h.cosine)))
        return out
