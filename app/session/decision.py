"""Combine liveness, face search and age into a session status and warning codes, failing closed.

Each feature yields a report with its own status; the session is Declined if any report is
Declined or Not Finished, else In Review if any is In Review, else Approved. A missing piece is
never read as a pass: it becomes Not Finished with CHECK_NOT_COMPLETED and the session declines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.session.inputs import CaptureFinding, CredentialInput, LivenessInput, SearchInput
from app.workflows.model import CaptureAction, Workflow
from sync.reports import AgeReport, FaceMatch, FaceSearchReport, LivenessReport, warning_items
from sync.vocabulary import DuplicateAction, FeatureStatus, SessionStatus, WarningCode

F = FeatureStatus
W = WarningCode

# Warnings an analyzer may raise itself, and what each does to the liveness report.
_LIVENESS_DECLINES = {W.LIVENESS_FACE_ATTACK, W.NO_FACE_DETECTED, W.MULTIPLE_FACES_DETECTED}
_LIVENESS_REVIEWS = {W.LOW_FACE_QUALITY, W.LOW_LIVENESS_SCORE}


@dataclass(frozen=True)
class Decision:
    status: SessionStatus
    liveness: LivenessReport
    face_search: FaceSearchReport | None
    age: AgeReport | None
    warnings: tuple[WarningCode, ...]
    reason: str | None


@dataclass(frozen=True)
class _Part:
    status: FeatureStatus
    warnings: tuple[WarningCode, ...]
    reason: str | None


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def judge_liveness(wf: Workflow, res: LivenessInput | None) -> tuple[LivenessReport, _Part]:
    method = wf.method
    if res is None:
        part = _Part(F.NOT_FINISHED, (W.CHECK_NOT_COMPLETED,), "liveness check did not run")
        return LivenessReport(status=part.status, method=method, score=None,
                              warnings=warning_items(part.warnings)), part
    score = _finite(res.score)
    score = None if score is None else round(min(max(score, 0.0), 100.0), 2)
    codes = list(res.warnings)
    status, reason = F.APPROVED, None
    decline_at = wf.face_liveness_score_decline_threshold
    review_at = wf.face_liveness_score_review_threshold
    if res.method is not method:
        # a weaker method's result cannot satisfy a workflow that asked for another one
        status, reason = F.DECLINED, f"liveness method {res.method} is not the workflow's {method}"
    elif res.attack or W.LIVENESS_FACE_ATTACK in codes:
        codes.append(W.LIVENESS_FACE_ATTACK)
        status, reason = F.DECLINED, "presentation attack detected"
    elif any(c in _LIVENESS_DECLINES for c in codes):
        first = next(c for c in codes if c in _LIVENESS_DECLINES)
        status, reason = F.DECLINED, f"liveness warning {first}"
    elif score is None:
        codes.append(W.LOW_LIVENESS_SCORE)
        status, reason = F.DECLINED, "liveness could not be scored"
    elif score <= decline_at:
        codes.append(W.LOW_LIVENESS_SCORE)
        status, reason = F.DECLINED, f"liveness score {score} at or below {decline_at}"
    elif review_at is not None and score <= review_at:
        codes.append(W.LOW_LIVENESS_SCORE)
        status, reason = F.IN_REVIEW, f"liveness score {score} at or below review {review_at}"
    elif any(c in _LIVENESS_REVIEWS for c in codes):
        status, reason = F.IN_REVIEW, "liveness warning needs review"
    part = _Part(status, tuple(codes), reason)
    return LivenessReport(status=status, method=res.method, score=score,
                          warnings=warning_items(part.warnings)), part


def judge_search(wf: Workflow, res: SearchInput | None) -> tuple[FaceSearchReport | None, _Part]:
    feature = wf.face_search
    if feature is None:
        return None, _Part(F.APPROVED, (), None)
    if res is None:
        part = _Part(F.NOT_FINISHED, (W.CHECK_NOT_COMPLETED,), "face search did not run")
        return FaceSearchReport(status=part.status, warnings=warning_items(part.warnings)), part
    cfg = feature.config
    hits = sorted((m for m in res.matches if _finite(m.similarity) is not None
                   and m.similarity >= cfg.review_threshold),
                  key=lambda m: m.similarity, reverse=True)
    blocked = [m for m in hits if m.blocklisted]
    dupes = [m for m in hits if not m.blocklisted]
    # blocklist hits first, and all of them, even past max_matches
    shown = (blocked + dupes)[: max(cfg.max_matches, len(blocked))]
    listed = tuple(FaceMatch(vendor_data=m.vendor_data, similarity_score=round(m.similarity, 4),
                             session_id=m.session_id, blocklisted=m.blocklisted) for m in shown)
    codes: list[WarningCode] = []
    status, reason = F.APPROVED, None
    if blocked:
        codes.append(W.BLOCKLISTED_FACE)
        status, reason = F.DECLINED, f"blocklist match {blocked[0].similarity:.3f}"
    if dupes:
        codes.append(W.POSSIBLE_DUPLICATED_FACE)
        best = dupes[0].similarity
        explicit_decline = (cfg.duplicate_action is DuplicateAction.DECLINE
                            and cfg.decline_threshold is not None
                            and best >= cfg.decline_threshold)
        if explicit_decline:
            status = F.DECLINED
            reason = reason or f"duplicate face {best:.3f} at or above {cfg.decline_threshold}"
        elif status is not F.DECLINED:
            status, reason = F.IN_REVIEW, f"possible duplicate face {best:.3f}"
    part = _Part(status, tuple(codes), reason)
    return FaceSearchReport(status=status, matches=listed, warnings=warning_items(codes)), part


def judge_age(wf: Workflow, age: float | None) -> tuple[AgeReport | None, _Part]:
    feature = wf.age
    if feature is None:
        return None, _Part(F.APPROVED, (), None)
    cfg = feature.config
    est = _finite(age)
    if est is None:
        part = _Part(F.DECLINED, (W.AGE_NOT_DETECTED,), "age could not be estimated")
        return AgeReport(status=part.status, age_estimation=None, min_age=cfg.min_age,
                         warnings=warning_items(part.warnings)), part
    est = round(est, 1)
    if est < cfg.min_age:
        part = _Part(F.DECLINED, (W.AGE_BELOW_MINIMUM,),
                     f"estimated age {est} below minimum {cfg.min_age}")
    elif est < cfg.min_age + cfg.review_margin_years:
        part = _Part(F.IN_REVIEW, (W.AGE_BELOW_MINIMUM,),
                     f"estimated age {est} within {cfg.review_margin_years} years of "
                     f"minimum {cfg.min_age}")
    else:
        part = _Part(F.APPROVED, (), None)
    return AgeReport(status=part.status, age_estimation=est, min_age=cfg.min_age,
                     warnings=warning_items(part.warnings)), part


def judge_capture(wf: Workflow, findings: tuple[CaptureFinding, ...]) -> _Part:
    """Capture-integrity findings about the booth camera: each declines or goes to review as
    the workflow says; their codes join the verdict's warnings (no report of their own)."""
    if not findings:
        return _Part(F.APPROVED, (), None)
    codes = tuple(dict.fromkeys(f.code for f in findings))
    policy = wf.capture_integrity
    declining = [f for f in findings if policy.action_for(f.code) is CaptureAction.DECLINE]
    if declining:
        return _Part(F.DECLINED, codes, declining[0].reason)
    return _Part(F.IN_REVIEW, codes, findings[0].reason)


def combine(parts: list[_Part]) -> tuple[SessionStatus, tuple[WarningCode, ...], str | None]:
    codes: list[WarningCode] = []
    for p in parts:
        codes.extend(c for c in p.warnings if c not in codes)
    for bad in (F.DECLINED, F.NOT_FINISHED):
        hit = next((p for p in parts if p.status is bad), None)
        if hit is not None:
            return SessionStatus.DECLINED, tuple(codes), hit.reason
    hit = next((p for p in parts if p.status is F.IN_REVIEW), None)
    if hit is not None:
        return SessionStatus.IN_REVIEW, tuple(codes), hit.reason
    if not parts or any(p.status is not F.APPROVED for p in parts):
        return SessionStatus.DECLINED, tuple(codes), "incomplete decision"
    return SessionStatus.APPROVED, tuple(codes), None


def decide(wf: Workflow, liveness: LivenessInput | None, search: SearchInput | None,
           age: float | None, capture: tuple[CaptureFinding, ...] = ()) -> Decision:
    """The decision for a session whose capture completed."""
    live_report, live = judge_liveness(wf, liveness)
    search_report, found = judge_search(wf, search)
    age_report, aged = judge_age(wf, age)
    status, codes, reason = combine([live, found, aged, judge_capture(wf, capture)])
    return Decision(status, live_report, search_report, age_report, codes, reason)


def decide_unfinished(wf: Workflow, status: SessionStatus, reason: str,
                      codes: tuple[WarningCode, ...] = (),
                      capture: tuple[CaptureFinding, ...] = ()) -> Decision:
    """The decision for a session that ended before its checks ran (abandoned, expired, refused).

    Every report is Not Finished; the status is whatever ended it, and never Approved. Capture
    findings known by then only add their codes to the verdict's warnings.
    """
    if status in (SessionStatus.APPROVED, SessionStatus.IN_REVIEW, SessionStatus.NOT_STARTED,
                  SessionStatus.IN_PROGRESS, SessionStatus.RESUBMITTED):
        raise ValueError(f"an unfinished session cannot end {status}")
    items = warning_items(codes or (W.CHECK_NOT_COMPLETED,))
    live = LivenessReport(status=F.NOT_FINISHED, method=wf.method, score=None, warnings=items)
    search = (FaceSearchReport(status=F.NOT_FINISHED) if wf.face_search is not None else None)
    age_f = wf.age
    age = (AgeReport(status=F.NOT_FINISHED, age_estimation=None, min_age=age_f.config.min_age)
           if age_f is not None else None)
    base = tuple(i.code for i in items)
    found = tuple(c for c in dict.fromkeys(f.code for f in capture) if c not in base)
    return Decision(status, live, search, age, base + found, reason)


def decide_by_credential(wf: Workflow, cred: CredentialInput) -> Decision:
    """Approved on a verified reusable credential: the issuer ran liveness and the 1:N search.

    The caller has checked the signature, expiry and revocation, and that the workflow accepts
    the credential's method and age claim; the reports say so without a score.
    """
    live = LivenessReport(status=F.APPROVED, method=cred.method, score=None)
    search = FaceSearchReport(status=F.APPROVED) if wf.face_search is not None else None
    age_f = wf.age
    age = None
    if age_f is not None:
        if cred.age_over is None or cred.age_over < age_f.config.min_age:
            raise ValueError("credential does not cover the workflow's minimum age")
        age = AgeReport(status=F.APPROVED, age_estimation=None, min_age=age_f.config.min_age)
    return Decision(SessionStatus.APPROVED, live, search, age, (),
                    f"reusable credential {cred.jti} from {cred.issuer}")
