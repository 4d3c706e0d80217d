"""The end of a session: enrol on Approved, sign the verdict, store it, issue a credential.

The verdict is signed and written to the verdict log and the outbox in one transaction before
anything is returned. An Approved person was enrolled just before the verdict was written: a
crash in between leaves a template without a verdict, which can only make the next attempt of
that person a duplicate for review, never let a second registration through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.errors import BadInputError
from app.flow.result import SessionResult
from app.flow.services import SessionParts
from app.session import CredentialInput, SessionEngine
from app.workflows import Workflow
from sync.credential import Credential, issue_credential
from sync.verdict import (
    CaptureSource,
    ChallengeBinding,
    CredentialUse,
    SignedVerdict,
    VerdictBody,
    idempotency_key,
    iso_utc,
    sign_verdict,
)
from sync.vocabulary import SessionStatus

log = logging.getLogger(__name__)


def check_signer(parts: SessionParts, source: CaptureSource) -> None:
    """Only the booth's own camera may be signed for by the booth's key."""
    if not source.proves_presence and not parts.scratch_key:
        raise BadInputError(
            f"a {source.kind} session cannot be signed with this booth's key (only its camera "
            f"proves a person is present): run it in the lab (`poh-lab session run`)")


def finish_session(parts: SessionParts, wf: Workflow, engine: SessionEngine,
                   source: CaptureSource, frames_read: int, source_end: str | None,
                   counts: dict[str, int], crash: Callable[[str], None]) -> SessionResult:
    check_signer(parts, source)
    decision = engine.decision
    if decision is None or engine.decided_at is None:
        raise RuntimeError("session ended without a decision")
    approved = decision.status is SessionStatus.APPROVED
    enrolled = False
    if approved and engine.credential is None and parts.search is not None:
        parts.search.enroll(engine.vendor_data, engine.session_id, engine.template())
        enrolled = True
    key = parts.key
    cred = engine.credential
    body_fields = {
        "session_id": engine.session_id, "vendor_data": engine.vendor_data,
        "status": decision.status, "workflow_id": wf.workflow_id,
        "workflow_version": wf.version, "liveness": decision.liveness,
        "face": decision.face_search, "age": decision.age,
        "warnings": decision.warnings, "reason": decision.reason,
        "created_at": iso_utc(engine.created_at), "decided_at": iso_utc(engine.decided_at),
        "device_id": key.device_id,
        "idempotency_key": idempotency_key(key.device_id, engine.session_id),
        "challenge": ChallengeBinding(
            method=wf.method, nonce=engine.nonce.hex(),
            response_digest=engine.liveness.response_digest if engine.liveness else None),
        "capture_source": source,
        "credential": (CredentialUse(jti=cred.jti, issuer=cred.issuer, key_id=cred.key_id,
                                     method=cred.method, issued_at=cred.issued_at,
                                     expires_at=cred.expires_at) if cred else None),
    }

    def build(sequence: int) -> SignedVerdict:
        return sign_verdict(VerdictBody.model_validate({**body_fields, "sequence": sequence}),
                            key)

    verdict, raw = parts.sessions.append(build,
                                         before_commit=lambda: crash("verdict-before-commit"))
    # stored and signed, not yet shown: a crash here must leave it in the outbox, once
    crash("verdict-after-commit")
    token = None
    if approved and wf.credential.issue and cred is None:
        age_f = wf.age
        token = issue_credential(
            key, vendor_data=engine.vendor_data, method=wf.method,
            unique=wf.face_search is not None, workflow=wf.ref,
            validity_seconds=wf.credential.validity_seconds,
            age_over=age_f.config.min_age if age_f is not None else None,
            verdict_sequence=verdict.sequence)
    return SessionResult(verdict, raw, token, enrolled, frames_read, source_end, counts)


def credential_input(c: Credential) -> CredentialInput:
    return CredentialInput(jti=c.jti, issuer=c.issuer, key_id=c.key_id, subject=c.subject,
                           method=c.method, issued_at=c.issued_at, expires_at=c.expires_at,
                           age_over=c.age_over)
