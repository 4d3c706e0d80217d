"""The headless session: a short loop that pushes a frame source into the session flow.

`poh session run` (a booth camera) and the lab (video files, still images, the simulator,
stored recordings) both run this loop; the kiosk screen drives the same SessionFlow from its
worker thread instead. The person consents by being put in front of the camera by an operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.capture.challenge import ChallengeCamera
from app.capture.frames import FrameSource
from app.capture.integrity import CameraCheck
from app.capture.recording import RecordingError
from app.flow.controller import SessionFlow
from app.flow.faults import maybe_crash
from app.flow.result import SessionResult
from app.flow.services import SessionParts
from app.workflows import Workflow
from sync.credential import Credential
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind, LivenessMethod

log = logging.getLogger(__name__)

Source = FrameSource | ChallengeCamera


def capture_source(source: Source, device_id: str) -> CaptureSource:
    """What the verdict says the face came from (the booth's id only for its own camera)."""
    kind: CaptureKind = source.kind
    return CaptureSource(kind=kind, device_id=device_id if kind is CaptureKind.CAMERA else None,
                         detail=source.description[:200])


def open_flow(parts: SessionParts, workflow: Workflow, source: Source, vendor_data: str, *,
              nonce: bytes | None = None, crash: Callable[[str], None] = maybe_crash,
              camera: CameraCheck | None = None) -> SessionFlow:
    """A flow for this source; refused (bad input) before any session row is written when the
    source does not fit the workflow or the key may not sign for it."""
    from app.errors import BadInputError

    active = workflow.method is not LivenessMethod.PASSIVE
    if active == isinstance(source, FrameSource):
        raise BadInputError(f"workflow {workflow.ref} ({workflow.method}) needs "
                            f"{'a challenge camera' if active else 'a frame source'}")
    return SessionFlow(parts, workflow, capture_source(source, parts.key.device_id),
                       vendor_data, nonce=nonce, crash=crash, camera=camera)


def run_flow(flow: SessionFlow, source: Source,
             credential: Credential | None = None) -> SessionResult:
    """Drive the flow to its verdict; a FrameSource for PASSIVE, a ChallengeCamera otherwise."""
    flow.start(0.0, ask_consent=True, credential=credential)
    if not flow.finished:
        flow.consent(True, 0.0)
    if isinstance(source, FrameSource):
        _push_frames(flow, source)
    elif not flow.finished and flow.plan is not None:
        try:
            rec = source.capture(flow.plan)
        except (RecordingError, OSError, RuntimeError) as exc:
            flow.capture_failed(str(exc))
        else:
            flow.push_recording(rec, 0.0)
    if flow.result is None:
        raise RuntimeError(f"session ended without a verdict ({flow.failure or flow.stage})")
    return flow.result


def _push_frames(flow: SessionFlow, source: FrameSource) -> None:
    try:
        for frame in source:
            if flow.finished:
                return
            flow.push_frame(frame.image, frame.t)
            if flow.finished:
                return
    finally:
        source.close()
    flow.source_ended(source.end_reason)


def run_session(parts: SessionParts, workflow: Workflow, source: Source, vendor_data: str,
                credential: Credential | None = None, *, nonce: bytes | None = None,
                crash: Callable[[str], None] = maybe_crash) -> SessionResult:
    """One whole session from a source: the signed, stored verdict (and credential)."""
    flow = open_flow(parts, workflow, source, vendor_data, nonce=nonce, crash=crash)
    return run_flow(flow, source, credential)
