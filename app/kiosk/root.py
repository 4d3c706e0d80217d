"""The composition root: one place builds the kiosk from its configuration, and closes it.

A Kiosk owns the face pipeline (every model compiled once), the storage (database, face index,
verdict store, kept recordings), the device key and the active workflow. Each component gets
only its own configuration section. A new configuration or workflow can be applied while the
kiosk runs (the MQTT config topic delivers them): it is checked completely first, a bad one is
refused with one line and the old one keeps running; a session already under way finishes on
what it started with.

Sync hooks: listeners registered with `on_verdict` are called after each verdict has been
committed to the log and the outbox (the MQTT drain wakes up on them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.capture.integrity import CameraCheck, CameraProbe, check_camera, probe_camera
from app.checks.face_registry import StoreFaceSearch
from app.errors import BadInputError
from app.flow.controller import SessionFlow
from app.flow.faults import maybe_crash
from app.flow.liveness_active import ActiveSessionLiveness
from app.flow.liveness_passive import PassiveSessionLiveness
from app.flow.result import SessionResult
from app.flow.services import LivenessAnalyzer, SessionParts
from app.kiosk.camera_record import CameraRecordError, load_camera_identity
from app.kiosk.config import KioskConfig, parse_config
from app.kiosk.storage import Storage, open_evidence, open_storage
from app.workflows import DEFAULT_WORKFLOW, Workflow, load_workflow
from app.workflows.loader import WorkflowError, parse_workflow_document
from inference.active.analyzer import ActiveLiveness
from inference.passive.liveness import PassiveLiveness, PassiveLivenessConfig
from inference.pipeline import FacePipeline
from sync.device_key import DeviceKey
from sync.verdict import CaptureSource
from sync.vocabulary import LivenessMethod

log = logging.getLogger(__name__)

VerdictListener = Callable[[SessionResult], None]


def passive_liveness(config: PassiveLivenessConfig,
                     decline_threshold: float | None = None) -> PassiveLiveness:
    """Passive liveness; a workflow's decline threshold overrides the configured one."""
    if decline_threshold is None:
        return PassiveLiveness(config)
    review = max(decline_threshold, config.review_threshold)
    return PassiveLiveness(config.model_copy(
        update={"decline_threshold": decline_threshold, "review_threshold": review}))


def active_analyzer(config: KioskConfig, pipeline: FacePipeline) -> ActiveLiveness:
    """The flash and action analyzer at the configured thresholds."""
    active = config.active_liveness
    return ActiveLiveness(pipeline, flash=active.flash(), actions=active.actions())


def liveness_for(config: KioskConfig, workflow: Workflow,
                 pipeline: FacePipeline) -> LivenessAnalyzer:
    if workflow.method is LivenessMethod.PASSIVE:
        return PassiveSessionLiveness(passive_liveness(
            config.passive_liveness, workflow.face_liveness_score_decline_threshold))
    return ActiveSessionLiveness(workflow.method, active_analyzer(config, pipeline), pipeline,
                                 config.challenge, halves=config.active_liveness.screen_halves)


def session_parts(config: KioskConfig, workflow: Workflow, pipeline: FacePipeline,
                  storage: Storage, key: DeviceKey, *, scratch_key: bool) -> SessionParts:
    return SessionParts(
        pipeline=pipeline,
        quality=config.quality,
        liveness=liveness_for(config, workflow, pipeline),
        search=StoreFaceSearch(storage.faces),
        sessions=storage.verdicts(),
        key=key,
        evidence=open_evidence(storage.home, storage.key, config.evidence),
        scratch_key=scratch_key,
    )


@dataclass(frozen=True)
class _Snapshot:
    """What new sessions start with; replaced whole, never changed in place."""

    config: KioskConfig
    workflow: Workflow
    pipeline: FacePipeline
    parts: SessionParts


class Kiosk:
    """The booth (or a lab bench) built from configuration; see open_kiosk()."""

    def __init__(self, config: KioskConfig, workflow: Workflow, pipeline: FacePipeline,
                 storage: Storage, key: DeviceKey, *, scratch_key: bool) -> None:
        self.storage = storage
        self.key = key
        self.scratch_key = scratch_key
        self._lock = threading.Lock()
        self._listeners: list[VerdictListener] = []
        self._snap = _Snapshot(config, workflow, pipeline,
                               session_parts(config, workflow, pipeline, storage, key,
                                             scratch_key=scratch_key))

    # ---- what sessions use -------------------------------------------------------------------
    @property
    def config(self) -> KioskConfig:
        return self._snap.config

    @property
    def workflow(self) -> Workflow:
        return self._snap.workflow

    @property
    def pipeline(self) -> FacePipeline:
        return self._snap.pipeline

    @property
    def parts(self) -> SessionParts:
        return self._snap.parts

    def parts_for(self, workflow: Workflow) -> SessionParts:
        """Session parts for another workflow (a command's --workflow), same models and store."""
        snap = self._snap
        if workflow == snap.workflow:
            return snap.parts
        return session_parts(snap.config, workflow, snap.pipeline, self.storage, self.key,
                             scratch_key=self.scratch_key)

    def new_session(self, source: CaptureSource, vendor_data: str, *,
                    workflow: Workflow | None = None, nonce: bytes | None = None,
                    crash: Callable[[str], None] = maybe_crash,
                    camera: CameraCheck | None = None) -> SessionFlow:
        """A session flow on the current configuration and workflow (or the one given);
        `camera`: what camera_check() found, for a booth-camera session."""
        wf = workflow or self.workflow
        flow = SessionFlow(self.parts_for(wf), wf, source, vendor_data, nonce=nonce,
                           crash=crash, camera=camera)
        flow.subscribe(self._forward)
        return flow

    def camera_check(self, device: int | str | Path, stated_fps: float | None = None, *,
                     probe: CameraProbe | None = None) -> CameraCheck:
        """Probe the booth camera (an OpenCV index or a /dev/videoN path) and compare it with
        the identity provisioned for this booth: the capture-integrity findings every session
        on it starts with. Call it when the camera is opened (and again when it comes back);
        `stated_fps`: what the opened capture says (cv2.CAP_PROP_FPS); `probe`: one made
        already (then `device` is not read)."""
        db = self.config.storage.paths(self.storage.home).db
        try:
            record = load_camera_identity(db, self.storage.key, self.storage.db.booth_id)
            provisioned, error = (record.identity if record else None), None
        except CameraRecordError as exc:
            provisioned, error = None, str(exc)
        probed = probe if probe is not None else probe_camera(device)
        return check_camera(probed, provisioned, error).with_fps(stated_fps)

    def on_verdict(self, listener: VerdictListener) -> None:
        """Called (on the session's thread) after each verdict is committed."""
        self._listeners.append(listener)

    # ---- changes while running ---------------------------------------------------------------
    def apply_workflow(self, document: bytes | str | Workflow) -> Workflow:
        """Make a workflow the active one; a bad one is refused (BadInputError), the old kept."""
        if isinstance(document, Workflow):
            wf = document
        else:
            try:
                wf = parse_workflow_document(document, "pushed workflow")
            except WorkflowError as exc:
                raise BadInputError(str(exc)) from exc
        with self._lock:
            snap = self._snap
            parts = session_parts(snap.config, wf, snap.pipeline, self.storage, self.key,
                                  scratch_key=self.scratch_key)
            self._snap = _Snapshot(snap.config, wf, snap.pipeline, parts)
        log.info("workflow %s is now active", wf.ref)
        return wf

    def apply_config(self, document: bytes | str | KioskConfig) -> KioskConfig:
        """Apply a new configuration; a bad one is refused (BadInputError), the old kept.

        Models are recompiled when the inference section changes (the old pipeline serves
        until the new one is ready); the storage section needs a restart and is refused."""
        cfg = (document if isinstance(document, KioskConfig)
               else parse_config(document, "pushed configuration"))
        with self._lock:
            snap = self._snap
            if cfg.storage != snap.config.storage:
                raise BadInputError("pushed configuration: the storage section can only change "
                                    "with a restart")
            if cfg.sync != snap.config.sync:
                raise BadInputError("pushed configuration: the fleet can only change by "
                                    "joining it")
            pipeline = snap.pipeline
            if cfg.inference != snap.config.inference:
                try:
                    pipeline = FacePipeline(cfg.inference)
                except Exception as exc:  # any failure to load models: keep the running ones
                    raise BadInputError(f"pushed configuration: models not loaded "
                                        f"({type(exc).__name__}: {exc})") from exc
            parts = session_parts(cfg, snap.workflow, pipeline, self.storage, self.key,
                                  scratch_key=self.scratch_key)
            self._snap = _Snapshot(cfg, snap.workflow, pipeline, parts)
        log.info("configuration applied")
        return cfg

    def close(self) -> None:
        self.storage.close()

    def __enter__(self) -> Kiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forward(self, event: object) -> None:
        from app.flow.events import ResultReady

        if isinstance(event, ResultReady):
            for listener in list(self._listeners):
                try:
                    listener(event.result)
                except Exception:  # a sync hook must never undo a stored verdict
                    log.exception("verdict listener failed")


def open_kiosk(config: KioskConfig, home: Path, *, workflow: Workflow | None = None,
               db_key: bytes | None = None, scratch_key: DeviceKey | None = None,
               pipeline: FacePipeline | None = None) -> Kiosk:
    """Build the kiosk: models compiled (a missing model fails here), storage opened, device
    key loaded. `scratch_key` (lab and demo): sign with that key, never the data folder's."""
    wf = workflow or load_workflow(DEFAULT_WORKFLOW)
    fp = pipeline or FacePipeline(config.inference)
    storage = open_storage(home, config.storage, key=db_key, evidence=config.evidence,
                           sync=config.sync)
    try:
        key = scratch_key or storage.device_key()
        return Kiosk(config, wf, fp, storage, key, scratch_key=scratch_key is not None)
    except BaseException:
        storage.close()
        raise
