"""The console's pages for reviewers: login and logout, the In Review queue, one session with
its matches and history, the decision form, and the audit log. Mounted at /console by
sync/hub/api/routers.py; not part of the integrators' OpenAPI spec."""

from __future__ import annotations

import logging
import secrets
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from sync.hub.api.context import HubCtx
from sync.hub.console import audit
from sync.hub.console.accounts import authenticate
from sync.hub.console.review_queue import (
    DecisionError,
    decide,
    in_review,
    queue_item,
    with_evidence,
)
from sync.hub.console.web import (
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    ConsoleRoute,
    Form,
    PageRefusal,
    Session,
    field,
    render,
    set_session_cookie,
    tokens_match,
)
from sync.hub.console.web_sessions import end_session, start_session
from sync.hub.evidence import read_frame
from sync.vocabulary import SessionStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)


@router.get("/static/console.css")
def stylesheet() -> Response:
    css = files("sync.hub.console").joinpath("templates/console.css").read_text("utf-8")
    return Response(css, media_type="text/css")


@router.get("")
@router.get("/")
def home() -> Response:
    return RedirectResponse(f"{PREFIX}/queue", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", login_csrf=token)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=f"{PREFIX}/login")
    return response


@router.post("/login")
async def login(request: Request, ctx: HubCtx) -> Response:
    form = await request.form()
    if not tokens_match(form.get("csrf"), request.cookies.get(LOGIN_COOKIE, "")):
        raise PageRefusal(403, "Refused: the login form's security token is missing or wrong. "
                               "Reload the login page and try again.")
    name, password = str(form.get("name", ""))[:100], str(form.get("password", ""))
    from starlette.concurrency import run_in_threadpool

    # scrypt takes tens of milliseconds: not on the event loop
    result = await run_in_threadpool(authenticate, ctx.engine, name, password)
    if result.operator is None:
        minutes = int(result.locked_for // 60) + 1 if result.locked_for else 0
        message = (f"Too many wrong passwords: this account is locked for {minutes} more "
                   "minute(s)." if minutes else "Wrong name or password.")
        await run_in_threadpool(audit.add, ctx.engine, name or "-", "login_refused", None,
                                None, "locked" if minutes else "wrong name or password")
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", 401, error=message, login_csrf=token)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path=f"{PREFIX}/login")
        return response
    token, _ws = await run_in_threadpool(start_session, ctx.engine, result.operator)
    await run_in_threadpool(audit.add, ctx.engine, result.operator.name, "login")
    done = RedirectResponse(f"{PREFIX}/queue", status_code=303)
    set_session_cookie(request, done, token)
    done.delete_cookie(LOGIN_COOKIE, path=f"{PREFIX}/login")
    return done


@router.post("/logout")
def logout(request: Request, ctx: HubCtx, ws: Session, _form: Form) -> Response:
    end_session(ctx.engine, request.cookies.get(SESSION_COOKIE))
    audit.add(ctx.engine, ws.operator.name, "logout")
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/queue")
def queue(request: Request, ctx: HubCtx, ws: Session) -> Response:
    return render(request, "queue.html", items=in_review(ctx.engine))


@router.get("/sessions/{session_id}")
def session_page(request: Request, ctx: HubCtx, ws: Session, session_id: str) -> Response:
    item = queue_item(ctx.engine, session_id[:100])
    if item is None:
        raise PageRefusal(404, f"No session {session_id[:100]} at the hub.")
    item = with_evidence(ctx.engine, item, PREFIX, ctx.evidence_vault is not None)
    return render(request, "session.html", item=item,
                  in_review=item.status == SessionStatus.IN_REVIEW.value)


@router.get("/sessions/{session_id}/evidence/{frame}")
def evidence_frame(ctx: HubCtx, ws: Session, session_id: str, frame: int) -> Response:
    """One review frame, decrypted for this answer only (never cached: no-store), audited."""
    jpeg = None
    if ctx.evidence_vault is not None and 0 <= frame < 1000:
        jpeg = read_frame(ctx.engine, ctx.evidence_vault, session_id[:100], frame)
    if jpeg is None:
        raise PageRefusal(404, "No such review frame at this console.")
    audit.add(ctx.engine, ws.operator.name, "view_evidence", session_id[:100], None,
              f"frame {frame}")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/sessions/{session_id}/decision")
def decision(request: Request, ctx: HubCtx, ws: Session, form: Form, session_id: str
             ) -> Response:
    outcome, reason = field(form, "decision", 20), field(form, "reason", 1000)
    try:
        event_id = decide(ctx.engine, ws.operator, session_id[:100], outcome, reason)
    except DecisionError as exc:
        raise PageRefusal(400, str(exc)) from None
    log.info("%s decided %s on session %s (webhook %s)", ws.operator.name, outcome,
             session_id, event_id)
    return render(request, "decided.html", session_id=session_id, outcome=outcome,
                  event_id=event_id)


@router.get("/audit")
def audit_page(request: Request, ctx: HubCtx, ws: Session) -> Response:
    # a reviewer sees their own actions; an admin everyone's
    actor = None if ws.operator.is_admin else ws.operator.name
    return render(request, "audit.html", entries=audit.entries(ctx.engine, 500, actor))
