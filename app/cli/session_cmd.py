"""`poh session run` (one whole session, headless) and `poh session clips` (demo videos)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import BadInputError, JsonOpt, emit, face_scan_folder, progress
from app.cli.verdict_cmd import storage_errors
from app.cli.workflow_cmd import load_or_bad_input
from app.paths import data_dir
from sync.vocabulary import LivenessMethod

app = typer.Typer(help="Run sessions headless and make demo clips.", no_args_is_help=True)

MAX_VENDOR_DATA = 500


def _check_vendor_data(v: str) -> str:
    if not v.strip():
        raise BadInputError("--vendor-data must not be empty")
    if len(v) > MAX_VENDOR_DATA:
        raise BadInputError(f"--vendor-data longer than {MAX_VENDOR_DATA} characters")
    if any(ord(c) < 32 for c in v):
        raise BadInputError("--vendor-data must not hold control characters")
    return v


def _human(o: dict[str, Any]) -> str:
    v = o["verdict"]
    lines = [f"{v['status']}  (session {v['session_id']}, verdict #{v['sequence']}, "
             f"device {v['device_id']})"]
    if v["liveness"]["score"] is not None:
        lines.append(f"liveness {v['liveness']['method']} {v['liveness']['status']} "
                     f"score {v['liveness']['score']}")
    if v["face"] and v["face"]["matches"]:
        best = v["face"]["matches"][0]
        lines.append(f"face search {v['face']['status']}: {best['vendor_data']} "
                     f"{best['similarity_score']}")
    if v["age"] and v["age"]["age_estimation"] is not None:
        lines.append(f"age {v['age']['age_estimation']} ({v['age']['status']})")
    if v["warnings"]:
        lines.append("warnings: " + ", ".join(v["warnings"]))
    if v["reason"]:
        lines.append(f"reason: {v['reason']}")
    lines.append(f"enrolled: {'yes' if o['enrolled'] else 'no'}; frames read {o['frames_read']}")
    lines += ["signed verdict (RFC 8785, verifies byte for byte):", o["verdict_canonical"]]
    if o["credential"]:
        from app.qr import qr_terminal
        lines += ["credential:", o["credential"], qr_terminal(o["credential"])]
    return "\n".join(lines)


@app.command("run")
def run(
    workflow: Annotated[Path, typer.Option("--workflow", help="Workflow JSON file.")],
    camera: Annotated[str, typer.Option(
        "--camera", help="Video file, still image, or camera index; for FLASHING / ACTIVE_3D "
                         "workflows sim:SPECIES (the 3D-scan simulator) or a capture recording "
                         "folder.")],
    vendor_data: Annotated[str, typer.Option("--vendor-data", help="Your id for the person.")],
    credential: Annotated[str | None, typer.Option(
        "--credential", help="A reusable credential (token or file) instead of a new check.")
    ] = None,
    issuer_keys: Annotated[Path | None, typer.Option(
        "--issuer-keys", help="Other kiosks whose credentials to trust (JWK set).")] = None,
    revocations: Annotated[Path | None, typer.Option(
        "--revocations", help="Revoked credential ids.")] = None,
    verdict_out: Annotated[Path | None, typer.Option(
        "--verdict-out", help="Write the signed verdict (canonical bytes) here.")] = None,
    qr_png_out: Annotated[Path | None, typer.Option(
        "--qr-png", help="Write the credential's QR code here (on Approved).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one session and print its signed verdict (+ credential on Approved)."""
    wf = load_or_bad_input(workflow)  # a malformed workflow never starts a session
    vendor = _check_vendor_data(vendor_data)
    from app.frames import FrameSource, open_source
    from app.runner import SessionRunner
    from app.session_runtime import build_runner_parts, device_key

    cred = None
    if credential is not None:
        from app.runner import credential_input
        from app.session.engine import credential_refusal

        with storage_errors():
            own = device_key()
        cred = _verified_credential(credential, issuer_keys, revocations, own)
        refusal = credential_refusal(wf, credential_input(cred))
        if refusal is not None:
            raise BadInputError(f"credential refused: {refusal}")
    source = (open_source(camera) if wf.method is LivenessMethod.PASSIVE
              else open_challenge_camera(camera, wf.method))
    try:
        with storage_errors():
            parts = build_runner_parts(wf)
        try:
            runner = SessionRunner(parts, wf)
        except ValueError as exc:
            raise BadInputError(str(exc)) from exc
        progress(f"session on {source.description} with workflow {wf.ref}")
        result = runner.run(source, vendor, cred)
    finally:
        if isinstance(source, FrameSource):
            source.close()
    if verdict_out is not None:
        verdict_out.write_bytes(result.verdict_bytes)
    if qr_png_out is not None and result.credential:
        from app.qr import qr_png
        qr_png(result.credential, qr_png_out)
    out = {"status": result.verdict.status.value, "verdict": result.verdict.wire(),
           "verdict_canonical": result.verdict_bytes.decode("utf-8"),
           "credential": result.credential, "enrolled": result.enrolled,
           "frames_read": result.frames_read, "source_end": result.source_end,
           "events": result.events}
    emit(out, as_json, _human)


def open_challenge_camera(spec: str, method: LivenessMethod) -> Any:
    """sim:SPECIES[:SEED] renders the 3D face scan answering the plan; a folder is a stored
    capture recording (it answers an old nonce: the session declines it as a replay)."""
    if spec.startswith("sim:"):
        from app.simulation.flash.challenge_camera import SPECIES, SimulatedChallengeCamera

        species, _, seed = spec[4:].partition(":")
        if species not in SPECIES:
            raise BadInputError(f"--camera sim:{species}: species must be one of "
                                f"{', '.join(SPECIES)}")
        if seed and not seed.isdigit():
            raise BadInputError("--camera sim:SPECIES:SEED needs a whole number seed")
        return SimulatedChallengeCamera(face_scan_folder(), species,
                                        seed=int(seed) if seed else None)
    path = Path(spec)
    if path.is_dir():
        from app.capture.challenge import StoredRecordingCamera
        from app.capture.recording import RecordingError

        try:
            return StoredRecordingCamera(path)
        except RecordingError as exc:
            raise BadInputError(f"{path}: {exc}") from exc
    raise BadInputError(f"a {method} session needs the kiosk screen to show its challenge: "
                        f"headless, give --camera sim:SPECIES or a capture recording folder")


def _verified_credential(token: str, issuer_keys: Path | None, revocations: Path | None,
                         own: Any) -> Any:
    from app.cli.credential_cmd import read_token
    from sync.credential import (
        CredentialError,
        load_issuer_keys,
        load_issuer_keys_file,
        load_revocations_file,
        verify_credential,
    )

    try:
        keys = load_issuer_keys(own.public_jwk())
        if issuer_keys is not None:
            keys.update(load_issuer_keys_file(issuer_keys))
        revoked = load_revocations_file(revocations) if revocations else frozenset()
        return verify_credential(read_token(token), keys, revoked)
    except CredentialError as exc:
        raise BadInputError(f"credential refused: {exc}") from exc


@app.command("clips")
def clips(
    out_dir: Annotated[Path, typer.Argument(help="Folder for live.avi, again.avi, print.avi.")],
    person: Annotated[str, typer.Option(help="Portrait in the colour sample folder.")
                      ] = "obama.jpg",
    again: Annotated[str, typer.Option(help="Another photo of the same person.")
                     ] = "obama2.jpg",
    as_json: JsonOpt = False,
) -> None:
    """Make the demo clips from real portraits (a live person, again, and a simulated print)."""
    from app.datasets import colour_dir
    from app.demo_clips import make_demo_clips

    try:
        made = make_demo_clips(colour_dir(data_dir()), out_dir, person=person, again=again)
    except (FileNotFoundError, ValueError) as exc:
        raise BadInputError(str(exc)) from exc
    emit({k: str(v) for k, v in made.items()}, as_json,
         lambda m: "\n".join(f"{k}: {v}" for k, v in m.items()))


@app.command("demo")
def demo(
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Demo folder (default: DATA_DIR/demo/sessions).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Three sessions on sample clips: live (Approved), again (In Review), print (Declined)."""
    from app.datasets import colour_dir
    from app.session_demo import render_session_rows, session_demo

    folder = out_dir or data_dir() / "demo" / "sessions"
    rows = session_demo(colour_dir(data_dir()), folder, progress)
    emit({"sessions": rows, "folder": str(folder)}, as_json,
         lambda o: "Sessions (workflow poh-default@1, scratch database)\n"
                   + render_session_rows(o["sessions"])
                   + f"\nverify: poh verdict verify {folder}/verdict-live.json "
                     f"--public-key {folder}/demo-device.jwk.json")
