"""What every console page shares: the templates (Jinja2, autoescaped, files in templates/),
the operator's session from its cookie, the CSRF check of every POST, the security headers,
and the route class that turns a refusal into a page.

CSRF: each web session has its own random token, put into every form as a hidden `csrf` field
and compared (constant time) with the session's on every POST; the login form, which has no
session yet, uses a double-submit token (a random cookie that the form must repeat). The
session cookie is HttpOnly and SameSite=Strict (Secure over HTTPS), so another site can neither
read it nor send it along.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape

from sync.hub.api.context import HubCtx
from sync.hub.console.web_sessions import WebSession, find_session

SESSION_COOKIE = "poh_console"
LOGIN_COOKIE = "poh_console_login"
PREFIX = "/console"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_env = Environment(loader=PackageLoader("sync.hub.console", "templates"),
                   autoescape=select_autoescape(["html"]), auto_reload=False)


class PageRefusal(Exception):
    """A request the console refuses with a page (403 CSRF, 403 role, 400 bad form, 404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ws: WebSession | None = getattr(request.state, "console_session", None)
    html = _env.get_template(name).render(session=ws, prefix=PREFIX, **ctx)
    return HTMLResponse(html, status_code=status)


class ConsoleRoute(APIRoute):
    """Console routes: refusals become pages, a missing session a redirect to the login, and
    every answer carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except LoginRequired:
                response = RedirectResponse(f"{PREFIX}/login", status_code=303)
            except PageRefusal as exc:
                response = render(request, "error.html", exc.status, message=exc.message)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handler


def current_session(request: Request, ctx: HubCtx) -> WebSession:
    ws = find_session(ctx.engine, request.cookies.get(SESSION_COOKIE))
    if ws is None:
        raise LoginRequired()
    request.state.console_session = ws
    return ws


Session = Annotated[WebSession, Depends(current_session)]


def require_admin(ws: Session) -> WebSession:
    if not ws.operator.is_admin:
        raise PageRefusal(403, "This needs the admin role.")
    return ws


AdminSession = Annotated[WebSession, Depends(require_admin)]


def tokens_match(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8"))


async def posted_form(request: Request, ws: Session) -> dict[str, str]:
    """The POSTed form of a logged-in operator, once its CSRF token is checked."""
    form = await request.form()
    if not tokens_match(form.get("csrf"), ws.csrf):
        raise PageRefusal(403, "Refused: the form's security token is missing or wrong. "
                               "Reload the page and try again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


Form = Annotated[dict[str, str], Depends(posted_form)]


def field(form: dict[str, str], name: str, limit: int = 1000) -> str:
    value = form.get(name, "").strip()
    if len(value) > limit:
        raise PageRefusal(400, f"{name}: at most {limit} characters")
    return value


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=PREFIX)
