"""`poh session run`: one whole session on the booth's camera, headless."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit, progress
from app.cli.inputs import output_file, text_option
from app.cli.verdict_cmd import storage_errors
from app.cli.workflow_cmd import load_or_bad_input
from app.errors import BadInputError
from sync.vocabulary import LivenessMethod

app = typer.Typer(help="Run sessions headless.", no_args_is_help=True)

MAX_VENDOR_DATA = 500

# options shared by `poh session run` and `poh-lab session run`
WorkflowOpt = Annotated[Path, typer.Option("--workflow", help="Workflow JSON file.")]
VendorOpt = Annotated[str, typer.Option("--vendor-data", help="Your id for the person.")]
CredentialOpt = Annotated[str | None, typer.Option(
    "--credential", help="A reusable credential (token or file) instead of a new check.")]
IssuerKeysOpt = Annotated[Path | None, typer.Option(
    "--issuer-keys", help="Other kiosks whose credentials to trust (JWK set).")]
RevocationsOpt = Annotated[Path | None, typer.Option(
    "--revocations", help="Revoked credential ids.")]
VerdictOutOpt = Annotated[Path | None, typer.Option(
    "--verdict-out", help="Write the signed verdict (canonical bytes) here.")]
QrPngOpt = Annotated[Path | None, typer.Option(
    "--qr-png", help="Write the credential's QR code here (on Approved).")]


def check_vendor_data(v: str) -> str:
    return text_option(v, "--vendor-data", MAX_VENDOR_DATA)


def check_outputs(verdict_out: Path | None, qr_png_out: Path | None) -> None:
    """--verdict-out and --qr-png must be writable files before a session runs: a folder there
    would otherwise fail only after the verdict was signed and stored."""
    output_file(verdict_out, "--verdict-out")
    output_file(qr_png_out, "--qr-png")


def human_session(o: dict[str, Any]) -> str:
    v = o["verdict"]
    lines = [f"{v['status']}  (session {v['session_id']}, verdict #{v['sequence']}, "
             f"device {v['device_id']})",
             f"capture source: {v['capture_source']['kind']} ({v['capture_source']['detail']})"]
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
    workflow: WorkflowOpt,
    camera: Annotated[str, typer.Option(
        "--camera", help="The booth's camera index (0, 1, ...). Video files, still images, "
                         "recordings and the simulator run in the lab: `poh-lab session run`.")],
    vendor_data: VendorOpt,
    credential: CredentialOpt = None,
    issuer_keys: IssuerKeysOpt = None,
    revocations: RevocationsOpt = None,
    verdict_out: VerdictOutOpt = None,
    qr_png_out: QrPngOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one session on the booth's camera and print its signed verdict (+ credential)."""
    wf = load_or_bad_input(workflow)  # a malformed workflow never starts a session
    check_outputs(verdict_out, qr_png_out)  # nor does an output that could not be written
    vendor = check_vendor_data(vendor_data)
    if wf.method is not LivenessMethod.PASSIVE:
        raise BadInputError(f"a {wf.method} session needs the kiosk screen to draw its "
                            f"challenge: run it at the kiosk, or in the lab "
                            f"(`poh-lab session run --camera sim:SPECIES|RECORDING_DIR`)")
    index = camera.strip()
    if index.isascii() and index.isdigit() and len(index) > 3:  # "²" is a digit, not an index
        raise BadInputError(f"--camera {index[:20]}: not a camera index (0 to 999)")
    if not (index.isascii() and index.isdigit()):
        raise BadInputError(f"--camera {camera[:60]}: the booth signs only what its own camera "
                            f"saw (give a camera index); video files and images run in the lab "
                            f"(`poh-lab session run`), signed with a scratch key")
    from app.capture.frames import open_source
    from app.cli.context import kiosk_config
    from app.kiosk.root import open_kiosk
    from app.paths import poh_home

    cfg = kiosk_config()
    with storage_errors():
        kiosk = open_kiosk(cfg, poh_home(), workflow=wf)
    try:
        # the booth camera's identity against the provisioned one (capture integrity); its
        # frame times are not judged here: this loop reads and analyses in turn
        emit(run_cli_session(kiosk, wf, lambda: open_source(camera), vendor, credential,
                             issuer_keys, revocations, verdict_out, qr_png_out,
                             camera_check=lambda src: kiosk.camera_check(index, src.fps)),
             as_json, human_session)
    finally:
        kiosk.close()


def run_cli_session(kiosk: Any, wf: Any, open_source: Callable[[], Any], vendor: str,
                    credential: str | None, issuer_keys: Path | None,
                    revocations: Path | None, verdict_out: Path | None,
                    qr_png_out: Path | None,
                    camera_check: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """One headless session on an open kiosk; the result as `poh session run` prints it.
    A credential is checked before the camera or file is opened. `camera_check(source)`: the
    booth camera's capture-integrity check (Kiosk.camera_check) once it is open."""
    from app.capture.frames import FrameSource
    from app.flow.headless import open_flow, run_flow
    from app.flow.verdicts import credential_input
    from app.session.engine import credential_refusal

    check_outputs(verdict_out, qr_png_out)
    cred = None
    if credential is not None:
        cred = _verified_credential(credential, issuer_keys, revocations, kiosk.key)
        refusal = credential_refusal(wf, credential_input(cred))
        if refusal is not None:
            raise BadInputError(f"credential refused: {refusal}")
    source = open_source()
    try:
        try:
            camera = camera_check(source) if camera_check is not None else None
            flow = open_flow(kiosk.parts_for(wf), wf, source, vendor, camera=camera)
        except ValueError as exc:
            raise BadInputError(str(exc)) from exc
        progress(f"session on {source.description} with workflow {wf.ref}")
        result = run_flow(flow, source, cred)
    finally:
        if isinstance(source, FrameSource):
            source.close()
    if verdict_out is not None:
        verdict_out.write_bytes(result.verdict_bytes)
    if qr_png_out is not None and result.credential:
        from app.qr import qr_png
        qr_png(result.credential, qr_png_out)
    return {"status": result.verdict.status.value, "verdict": result.verdict.wire(),
            "verdict_canonical": result.verdict_bytes.decode("utf-8"),
            "credential": result.credential, "enrolled": result.enrolled,
            "frames_read": result.frames_read, "source_end": result.source_end,
            "events": result.events}


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
