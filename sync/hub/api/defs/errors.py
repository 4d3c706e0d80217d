"""The error body every API error has (Didit's `detail`, with a stable `code`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str
    code: str | None = None
    errors: dict[str, list[str]] | None = None  # 400: the fields and what is wrong with them


_TEXT = {400: "Bad request (the fields named)", 401: "Invalid or revoked API key",
         403: "No API key, or a key without the scope", 404: "Not found",
         413: "Image larger than the limit", 500: "Internal error",
         503: "The face models are not available at this hub"}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorBody, "description": _TEXT[c]} for c in codes}
