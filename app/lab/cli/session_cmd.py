"""`poh-lab session run|clips|demo`: sessions on video files, still images, the simulator and
stored recordings, in the lab's own data folder and signed with its scratch key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.cli.progress_bar import progress_report
from app.cli.session_cmd import (
    CredentialOpt,
    IssuerKeysOpt,
    QrPngOpt,
    RevocationsOpt,
    VendorOpt,
    VerdictOutOpt,
    WorkflowOpt,
    check_outputs,
    check_vendor_data,
    human_session,
    run_cli_session,
)
from app.cli.verdict_cmd import storage_errors
from app.cli.workflow_cmd import load_or_bad_input
from app.errors import BadInputError
from app.lab.cli.common import face_scan_folder
from app.paths import data_dir
from sync.vocabulary import LivenessMethod

app = typer.Typer(help="Sessions on files and simulations (lab data folder, scratch key).",
                  no_args_is_help=True)


@app.command("run")
def run(
    workflow: WorkflowOpt,
    camera: Annotated[str, typer.Option(
        "--camera", help="Video file, still image or camera index; for FLASHING / ACTIVE_3D "
                         "workflows sim:SPECIES[:SEED] (the 3D-scan simulator) or a capture "
                         "recording folder.")],
    vendor_data: VendorOpt,
    home: Annotated[Path | None, typer.Option(
        "--home", help="Lab data folder (default POH_LAB_HOME, else DATA_DIR/lab).")] = None,
    credential: CredentialOpt = None,
    issuer_keys: IssuerKeysOpt = None,
    revocations: RevocationsOpt = None,
    verdict_out: VerdictOutOpt = None,
    qr_png_out: QrPngOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One session on a file or the simulator; the verdict names its capture source and is
    signed with the lab's scratch key (public JWK in the lab folder)."""
    wf = load_or_bad_input(workflow)
    check_outputs(verdict_out, qr_png_out)  # refused before any work, as on the booth
    vendor = check_vendor_data(vendor_data)
    from app.capture.frames import open_source
    from app.cli.context import kiosk_config
    from app.kiosk.root import open_kiosk
    from app.lab.home import lab_home, scratch_key

    folder = lab_home(home)
    # a challenge camera holds no device: opened (and a bad --camera refused) once, before the
    # models; a frame source is opened only after a --credential was checked
    challenge = (None if wf.method is LivenessMethod.PASSIVE
                 else open_challenge_camera(camera, wf.method))
    with storage_errors():
        kiosk = open_kiosk(kiosk_config(), folder, workflow=wf,
                           scratch_key=scratch_key(folder))
    try:
        out = run_cli_session(
            kiosk, wf, lambda: challenge if challenge is not None else open_source(camera),
            vendor, credential, issuer_keys, revocations, verdict_out, qr_png_out)
    finally:
        kiosk.close()
    out["public_key_file"] = str(folder / "scratch-device.jwk.json")
    emit(out, as_json, human_session)


def open_challenge_camera(spec: str, method: LivenessMethod) -> Any:
    """sim:SPECIES[:SEED] renders the 3D face scan answering the plan; a folder is a stored
    capture recording (it answers an old nonce: the session declines it as a replay)."""
    if spec.startswith("sim:"):
        from app.lab.simulation.flash.challenge_camera import SPECIES, SimulatedChallengeCamera

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
    from app.lab.datasets import colour_dir
    from app.lab.demo_clips import make_demo_clips

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
    from app.lab.datasets import colour_dir
    from app.lab.session_demo import render_session_rows, session_demo

    folder = out_dir or data_dir() / "demo" / "sessions"
    with progress_report("session demo", as_json) as shown:
        rows = session_demo(colour_dir(data_dir()), folder,
                            lambda message: shown.note(message, sticky=False))
    emit({"sessions": rows, "folder": str(folder)}, as_json,
         lambda o: "Sessions (workflow poh-default@1, scratch database)\n"
                   + render_session_rows(o["sessions"])
                   + f"\nverify: poh verdict verify {folder}/verdict-live.json "
                     f"--public-key {folder}/demo-device.jwk.json")
