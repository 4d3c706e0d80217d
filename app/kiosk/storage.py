"""The kiosk's storage under one data folder: the encrypted database, its key, the face store
attached to the same connection, the verdict store and the kept challenge recordings.

One encrypted database (storage's, migrated by storage) holds the templates, the sessions, the
verdict log, the outbox and the device's signing key; the face store (HNSW + delta) is attached
to the same connection so that an enrollment and a verdict never see two databases. Nothing
here is cached per process: whoever opens a Storage closes it.

Initialisation (app.kiosk.home, storage.booth): a booth is initialised once, explicitly
(`poh db init`, init_home) or by the first command that writes (a session, an enrollment:
open_storage(create=True)) in a data folder that holds nothing of a booth at all; two
processes racing to do it take an exclusive lock and one initialises. Initialising makes the
key file, the database with its booth id and marker, the template rotation key and the
device's signing key, so that a later read creates nothing. Commands that only read
(open_storage(create=False)) never create anything: on a folder that was never initialised
they fail with NotInitialisedError. Once initialised, a missing, empty or swapped database is
an error until an operator re-initialises with `poh db init --force`, which sets the old
booth's files aside instead of deleting them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.capture.evidence import EvidenceConfig, EvidenceStore
from app.kiosk.home import (
    HomeState,
    evidence_dir,
    home_lock,
    inspect_home,
    remains_error,
    require_initialised,
    set_aside,
)
from storage import booth
from storage.config import StorageConfig
from storage.database import Database
from storage.errors import NotInitialisedError
from storage.face_store import FaceStore
from storage.keys import load_db_key
from sync.config import SyncConfig
from sync.device_key import DeviceKey
from sync.device_key_store import MetaKeySlot, load_device_key
from sync.verdict_store import VerdictStore

log = logging.getLogger(__name__)

__all__ = ["InitResult", "Storage", "db_key", "evidence_dir", "init_home", "open_database",
           "open_evidence", "open_storage"]


def db_key(home: Path, config: StorageConfig, *, may_create: bool = False) -> bytes:
    """The database key of the data folder `home`. may_create: make a key file when there is
    neither a key nor a database (only initialisation does)."""
    paths = config.paths(home)
    return load_db_key(paths.key_file, paths.db.exists(), may_create=may_create)


def open_database(home: Path, config: StorageConfig, key: bytes | None = None) -> Database:
    """Storage's encrypted database under `home`, migrated, without the face store (a scratch
    folder's: created when nothing is there; an initialised booth's is checked as ever)."""
    paths = config.paths(home)
    return Database(paths.db, key or db_key(home, config, may_create=True))


def open_evidence(home: Path, key: bytes, config: EvidenceConfig) -> EvidenceStore:
    """Sealed challenge recordings kept next to the database, under the same key."""
    return EvidenceStore(evidence_dir(home), key, config)


def booth_evidence(home: Path, config: StorageConfig, evidence: EvidenceConfig
                   ) -> EvidenceStore:
    """The kept recordings of an initialised booth, opened with its key alone (no database);
    creates nothing."""
    state = inspect_home(home, config)
    require_initialised(state)
    key = load_db_key(state.paths.key_file, True, may_create=False)
    if state.marker is not None:
        booth.check_key(state.paths.db, state.marker, key)
    return open_evidence(home, key, evidence)


@dataclass(frozen=True)
class Storage:
    """The open database, its key and the face store attached to it, under one data folder."""

    db: Database
    key: bytes
    faces: FaceStore
    home: Path
    evidence_config: EvidenceConfig
    sync_config: SyncConfig
    writable: bool = True  # False: opened by a command that only reads (creates nothing)

    def evidence(self) -> EvidenceStore:
        return open_evidence(self.home, self.key, self.evidence_config)

    def verdicts(self) -> VerdictStore:
        return VerdictStore(self.db, fleet=self.sync_config.fleet_id)

    def device_key(self, device_id: str | None = None) -> DeviceKey:
        """This data folder's Ed25519 verdict key (made at initialisation, sealed in the
        database; a booth initialised before that gets it from its first writing command).
        device_id: the id a new key gets (a fleet bundle's); an existing key keeps its own."""
        if not self.writable and MetaKeySlot(self.db).read() is None:
            raise NotInitialisedError(f"the booth in {self.home} has no device key yet: run "
                                      f"`poh db init` (nothing was created)")
        return load_device_key(self.db, self.key, device_id)

    def close(self) -> None:
        self.faces.close()
        self.db.close()


def _open(state: HomeState, config: StorageConfig, key: bytes | None, *, create_db: bool,
          writable: bool, evidence: EvidenceConfig | None, sync: SyncConfig | None,
          background_rebuild: bool,
          rebuild_progress: Callable[[int, int], None] | None = None) -> Storage:
    paths = state.paths
    if state.marker is not None:  # a lost database first, before a lost key file
        booth.check_database_file(paths.db, state.marker)
    key = key or load_db_key(paths.key_file, state.db_bytes is not None, may_create=create_db)
    db = Database(paths.db, key, create=create_db, integrity_check=config.integrity_check)
    try:
        faces = FaceStore.attach(db, key, config, state.home,
                                 background_rebuild=background_rebuild,
                                 rebuild_progress=rebuild_progress)
    except BaseException:
        db.close()
        raise
    return Storage(db, key, faces, state.home, evidence or EvidenceConfig(),
                   sync or SyncConfig(), writable)


def _initialise(state: HomeState, config: StorageConfig, key: bytes | None,
                device_id: str | None = None) -> Storage:
    """A new booth in a pristine folder (call under home_lock): key file, database with its
    booth id and marker, template key, device key (named device_id if given). Returns it open."""
    storage = _open(state, config, key, create_db=True, writable=True, evidence=None,
                    sync=None, background_rebuild=False)
    try:
        storage.device_key(device_id)
    except BaseException:
        storage.close()
        raise
    log.info("initialised a new booth %s in %s", storage.db.booth_id, state.home)
    return storage


def ensure_initialised(home: Path, config: StorageConfig, key: bytes | None = None,
                       device_id: str | None = None) -> None:
    """For commands that write: initialise a pristine data folder once (racing processes: one
    does it, the others then open it); refuse the remains of a lost booth. device_id: the id
    of a new booth's device key (joining a fleet names it)."""
    state = inspect_home(home, config)
    if state.initialised:
        return
    if state.remains:
        raise remains_error(state)
    with home_lock(home):
        state = inspect_home(home, config)
        if state.initialised:
            return
        if state.remains:
            raise remains_error(state)
        _initialise(state, config, key, device_id).close()


def open_storage(home: Path, config: StorageConfig, *, key: bytes | None = None,
                 evidence: EvidenceConfig | None = None, sync: SyncConfig | None = None,
                 background_rebuild: bool = False, create: bool = True,
                 rebuild_progress: Callable[[int, int], None] | None = None) -> Storage:
    """Everything a session needs from storage, under `home` (the kiosk's or a scratch one).

    create: the command writes, and may initialise a data folder that holds nothing of a
    booth (see the module docstring); False for commands that only read: they create
    nothing and fail with NotInitialisedError on a folder that was never initialised.
    rebuild_progress: (done, total) stages of every face-index build done inline (a CLI's
    progress display)."""
    if create:
        ensure_initialised(home, config, key)
    else:
        require_initialised(inspect_home(home, config))
    state = inspect_home(home, config)
    return _open(state, config, key, create_db=False, writable=create, evidence=evidence,
                 sync=sync, background_rebuild=background_rebuild,
                 rebuild_progress=rebuild_progress)


@dataclass(frozen=True)
class InitResult:
    home: Path
    database: Path
    booth_id: str
    created_at: str
    device_id: str
    key_id: str
    status: str  # "created", "adopted" (a database from before markers), "already initialised"
    set_aside: Path | None  # --force: where the old booth's files went


def init_home(home: Path, config: StorageConfig, *, key: bytes | None = None,
              force: bool = False) -> InitResult:
    """`poh db init`: initialise the data folder explicitly.

    An initialised booth is left as it is (checked: a missing, empty or swapped database is an
    error). force: set everything of the current or lost booth aside (HOME/set-aside-<time>/,
    never deleted) and start a new booth. A database from before booth markers is adopted.
    The remains of a lost booth need force."""
    with home_lock(home):
        state = inspect_home(home, config)
        moved = None
        if force and (state.initialised or state.remains):
            moved = set_aside(state)
            state = inspect_home(home, config)
        if state.initialised:
            storage = _open(state, config, key, create_db=False, writable=True, evidence=None,
                            sync=None, background_rebuild=False)
            status = "adopted" if state.marker is None else "already initialised"
        elif state.remains and not force:
            raise remains_error(state)
        else:
            storage = _initialise(state, config, key)
            status = "created"
        try:
            dk = storage.device_key()
            marker = inspect_home(home, config).marker
        finally:
            storage.close()
    if marker is None:  # the open above writes it
        raise RuntimeError("the booth marker is missing after initialisation")
    return InitResult(home=state.home, database=state.paths.db, booth_id=marker.booth_id,
                      created_at=marker.created_at, device_id=dk.device_id, key_id=dk.key_id,
                      status=status, set_aside=moved)
