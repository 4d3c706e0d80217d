"""`poh evidence`: challenge recordings kept (encrypted) by workflows with retain_evidence."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.capture.evidence import EvidenceStore
from app.cli.common import JsonOpt, emit
from app.cli.verdict_cmd import storage_errors
from app.errors import BadInputError

app = typer.Typer(help="Encrypted challenge recordings kept for review.", no_args_is_help=True)


@contextmanager
def _store() -> Iterator[EvidenceStore]:
    from app.capture.evidence import EvidenceError
    from app.capture.recording import RecordingError
    from app.cli.context import kiosk_evidence
    from storage.sealed_file import SealedFileError

    with storage_errors():
        store = kiosk_evidence()
    try:
        yield store
    except (EvidenceError, SealedFileError, RecordingError) as exc:
        raise BadInputError(str(exc)) from None


@app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Sessions whose challenge recording is kept (and whether its review frames still wait
    for the hub's acknowledgement)."""
    with _store() as store:
        marked = set(store.to_send())
        rows = [{"session_id": e.session_id, "bytes": e.bytes,
                 "kept_at": datetime.fromtimestamp(e.modified, UTC).isoformat(timespec="seconds"),
                 "frames_for_hub": e.session_id in marked}  # sync_evidence, not yet acked
                for e in store.entries()]
    emit({"evidence": rows}, as_json, lambda d: "\n".join(
        f"{r['session_id']}  {r['bytes']:>10} bytes  {r['kept_at']}"
        + ("  frames for the hub" if r["frames_for_hub"] else "") for r in d["evidence"])
        or "no evidence kept")


@app.command("export")
def export_cmd(
    session_id: Annotated[str, typer.Argument(help="The session's id (from its verdict).")],
    out: Annotated[Path, typer.Argument(help="New folder for the plain capture recording.")],
    as_json: JsonOpt = False,
) -> None:
    """Decrypt one recording into a capture-recording folder (plain face images: handle with
    care; `poh liveness analyze OUT` re-runs the analysis)."""
    with _store() as store:
        rec = store.export(session_id, out)
    emit({"path": str(out), "method": rec.method, "frames": len(rec.frames),
          "nonce": rec.nonce.hex()}, as_json,
         lambda d: f"wrote {d['frames']} frames ({d['method']}) to {d['path']}")


@app.command("delete")
def delete_cmd(
    session_id: Annotated[str, typer.Argument(help="The session's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Erase one kept recording."""
    with _store() as store:
        gone = store.delete(session_id)
    if not gone:
        raise BadInputError(f"no evidence kept for session {session_id}")
    emit({"deleted": session_id}, as_json, lambda d: f"deleted evidence of {d['deleted']}")


@app.command("prune")
def prune_cmd(as_json: JsonOpt = False) -> None:
    """Erase recordings past the retention limits (config `evidence`: max_age_days,
    max_total_mb); also done after every new recording."""
    with _store() as store:
        erased = store.prune()
        policy = store.policy
    emit({"erased": erased, "max_age_days": policy.max_age_days,
          "max_total_mb": policy.max_total_mb}, as_json,
         lambda d: f"erased {len(d['erased'])} recording(s) (limits: {d['max_age_days']:g} days, "
                   f"{d['max_total_mb']:g} MB)")
