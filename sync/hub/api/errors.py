"""Didit-style error bodies: `{"detail": "..."}` with the status code Didit uses.

Didit answers 401 for a key that is wrong, revoked or expired, 403 for a missing key or one
without access to the resource, 404 for an unknown session, 400 for a bad request (with the
fields named) and 413 for an image over the limit. FastAPI's own errors (422 validation, 404
unknown route, 405) are rewritten into the same shape, so an integrator sees one error format.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class HubInputError(ValueError):
    """Bad input to a hub API, key or webhook command (`poh hub ...` exits 2); one line."""


class ApiError(Exception):
    """An error the API answers with `status` and a Didit-style body."""

    def __init__(self, status: int, detail: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detail": self.detail}
        if self.code is not None:
            out["code"] = self.code
        return out


def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):  # registered for ApiError only
        raise exc
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    body: dict[str, Any] = {"detail": detail}
    if code:
        body["code"] = code
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """A bad parameter or body: 400 as Didit answers, each field named with its messages."""
    if not isinstance(exc, RequestValidationError):
        raise exc
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)
               and x not in ("body", "query", "path", "header", "form")]
        fields.setdefault(".".join(loc) or "request", []).append(str(err.get("msg", "")))
    first = next(iter(fields.items()))
    return JSONResponse({"detail": f"{first[0]}: {first[1][0]}", "code": "invalid_request",
                         "errors": fields}, status_code=400)


def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error in the hub API", exc_info=exc)
    return JSONResponse({"detail": "internal error", "code": "internal_error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
