"""`poh credential verify|qr`: offline checks of reusable Proof-of-Human credentials."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import JsonOpt, emit
from app.cli.inputs import output_file
from app.errors import BadInputError
from app.qr import qr_png, qr_terminal
from sync.credential import (
    MAX_TOKEN_CHARS,
    CredentialError,
    load_issuer_keys_file,
    load_revocations_file,
    read_token_file,
    verify_credential,
)
from sync.strict_json import existing_path

_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")

app = typer.Typer(help="Verify and show reusable credentials.", no_args_is_help=True)


def read_token(token: str) -> str:
    """A token given inline, or a path to a file holding it.

    Inline text is never looked up as a file name first: a long token would make the lookup
    fail ("File name too long"). A path that is a folder or a special file is refused."""
    text = token.strip()
    if _JWS.match(text):
        if len(text) > MAX_TOKEN_CHARS:
            raise BadInputError(f"credential refused: longer than {MAX_TOKEN_CHARS} characters")
        return text
    path = existing_path(token)
    if path is None:
        raise BadInputError(f"{_show(token)}: neither a compact JWS nor a file")
    try:
        return read_token_file(path)
    except CredentialError as exc:
        raise BadInputError(f"credential refused: {exc}") from exc


def _show(text: str, limit: int = 60) -> str:
    one = text if text.isprintable() else repr(text)
    return one if len(one) <= limit else one[: limit - 3] + "..."


@app.command("verify")
def verify(
    token: Annotated[str, typer.Argument(help="Compact JWS, or a file holding it.")],
    issuer_keys: Annotated[Path, typer.Option("--issuer-keys",
                                              help="Trusted issuer keys (JWK set).")],
    revocations: Annotated[Path | None, typer.Option(
        "--revocations", help='Revocation list: {"revoked": ["<jti>", ...]}.')] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify offline; expired, revoked or unknown-key tokens exit 2 with one line."""
    try:
        keys = load_issuer_keys_file(issuer_keys)
        revoked = load_revocations_file(revocations) if revocations else frozenset()
        cred = verify_credential(read_token(token), keys, revoked)
    except CredentialError as exc:
        raise BadInputError(f"credential refused: {exc}") from exc
    out = {"valid": True, **cred.to_dict()}
    emit(out, as_json, lambda o: f"valid: live human ({o['method']}) checked by {o['issuer']}, "
                                 f"subject {o['subject']}, expires {o['expires_at']}")


@app.command("qr")
def qr(
    token: Annotated[str, typer.Argument(help="Compact JWS, or a file holding it.")],
    png: Annotated[Path | None, typer.Option("--png", help="Also write a PNG here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a credential as a QR code in the terminal (and as PNG)."""
    output_file(png, "--png")
    text = read_token(token)
    if png is not None:
        qr_png(text, png)
    emit({"png": str(png) if png else None, "chars": len(text)}, as_json,
         lambda _: qr_terminal(text))
