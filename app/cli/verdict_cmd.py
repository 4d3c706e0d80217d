"""`poh verdict verify|show|outbox` and the `show` command of `poh keys` (the device's key)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.cli.inputs import inline_or_file, input_bytes, output_file
from app.errors import BadInputError
from sync.device_key import DeviceKeyError, key_id, public_key_from_text
from sync.verdict import SignedVerdict, VerdictError, verify_verdict_bytes

app = typer.Typer(help="Verify and show signed verdicts.", no_args_is_help=True)

MAX_VERDICT_BYTES = 1_000_000
MAX_KEY_BYTES = 64 * 1024


@contextmanager
def storage_errors() -> Iterator[None]:
    """A database that cannot be opened (key, corruption) is bad input, as for `poh enroll`."""
    from storage.errors import DatabaseOpenError
    from sync.device_key import DeviceKeyError as _KeyError

    try:
        yield
    except DatabaseOpenError as exc:
        raise BadInputError(str(exc).splitlines()[0]) from None
    except _KeyError as exc:
        raise BadInputError(f"device key: {exc}") from None


def _public_key(spec: str | None) -> Any:
    if spec is None:
        # this booth's own key, read only: on a data folder that was never initialised this
        # creates no database and no device key (exit 2: give --public-key)
        from app.cli.context import kiosk_storage
        from storage.errors import NotInitialisedError

        try:
            with storage_errors(), kiosk_storage() as storage:
                return storage.device_key().public
        except BadInputError as exc:
            if isinstance(exc.__context__, NotInitialisedError):
                raise BadInputError(f"{exc}, or give the signer's key with --public-key"
                                    ) from None
            raise
    # inline (JWK, PEM, base64url) or a file; a folder is refused, a long inline JWK is not
    # looked up as a file name ("File name too long")
    text = inline_or_file(spec, "--public-key", MAX_KEY_BYTES)
    try:
        return public_key_from_text(text)
    except DeviceKeyError as exc:
        raise BadInputError(f"--public-key: {exc}") from exc


def _summary(v: SignedVerdict) -> dict[str, Any]:
    return {"valid": True, "session_id": v.session_id, "vendor_data": v.vendor_data,
            "status": v.status.value, "sequence": v.sequence, "device_id": v.device_id,
            "key_id": v.signature.key_id, "workflow": f"{v.workflow_id}@{v.workflow_version}",
            "warnings": [w.value for w in v.warnings], "decided_at": v.decided_at,
            "capture_source": v.capture_source.model_dump(mode="json"),
            "proves_presence": v.capture_source.proves_presence}


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="Verdict file (canonical JSON, as stored).")],
    public_key: Annotated[str | None, typer.Option(
        "--public-key", help="JWK/PEM file or raw base64url key; default: this device's key.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a verdict offline; any changed byte fails (exit 2, one line)."""
    raw = input_bytes(file, "verdict", MAX_VERDICT_BYTES)  # a folder or FIFO is refused unread
    pub = _public_key(public_key)
    try:
        verdict = verify_verdict_bytes(raw, pub)
    except VerdictError as exc:
        raise BadInputError(f"{file}: {exc}") from exc
    emit(_summary(verdict), as_json,
         lambda s: f"valid: sequence {s['sequence']} {s['status']} for {s['vendor_data']} "
                   f"signed by {s['device_id']} ({s['key_id']})\n"
                   f"capture source: {s['capture_source']['kind']} "
                   f"({s['capture_source']['detail']})"
                   + ("" if s["proves_presence"] else
                      ": not a capture at a booth camera, no proof of a present person"))


@app.command("show")
def show(
    session: Annotated[str, typer.Argument(help="Session id or sequence number.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the canonical bytes here.")
                   ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print (or save) a stored verdict exactly as signed."""
    from app.cli.context import kiosk_storage

    output_file(out, "--out")
    # a sequence number is at most 16 ASCII digits (2**53 - 1); "²" or 5,000 digits would make
    # int() raise, so anything else is looked up as a session id (and not found)
    is_seq = session.isascii() and session.isdigit() and len(session) <= 16
    key: str | int = int(session) if is_seq else session
    with storage_errors(), kiosk_storage() as storage:
        raw = storage.verdicts().verdict_bytes(key)
    if raw is None:
        raise BadInputError(f"no verdict for {session}")
    if out is not None:
        out.write_bytes(raw)
    emit(SignedVerdict.model_validate_json(raw).wire(), as_json,
         lambda _: raw.decode("utf-8"))


@app.command("outbox")
def outbox(as_json: JsonOpt = False) -> None:
    """Verdicts written but not yet acknowledged by the broker."""
    from app.cli.context import kiosk_storage

    with storage_errors(), kiosk_storage() as storage:
        items = storage.verdicts().outbox(limit=10_000)
    rows = [{"id": i.id, "sequence": i.sequence, "topic": i.topic,
             "idempotency_key": i.idempotency_key, "bytes": len(i.payload),
             "attempts": i.attempts, "created_at": i.created_at} for i in items]
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['id']:>6} seq {r['sequence']:>6} {r['idempotency_key']} {r['bytes']} B"
        for r in rs) or "outbox empty")


def keys_show(
    public: Annotated[bool, typer.Option("--public", help="The public key (the only one shown).")
                      ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show this device's signing key (public part only; the private key never leaves)."""
    if not public:
        raise BadInputError("only the public key can be shown: pass --public")
    from app.cli.context import kiosk_storage

    with storage_errors(), kiosk_storage() as storage:
        dk = storage.device_key()
    jwk = dk.public_jwk()
    out = {"device_id": dk.device_id, "key_id": dk.key_id, "created_at": dk.created_at,
           "public_key": jwk, "jwks": {"keys": [jwk]}}
    emit(out, as_json, lambda o: f"device {o['device_id']} key {o['key_id']}\n"
                                 f"x = {o['public_key']['x']}")


def attach_keys_show(keys_app: typer.Typer) -> None:
    """Add `show` to the `poh keys` group that storage's store_cmd creates."""
    keys_app.command("show")(keys_show)


__all__ = ["app", "attach_keys_show", "key_id", "keys_show"]
