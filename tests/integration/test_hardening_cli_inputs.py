"""Bad input through the real CLIs is refused (exit 2, one line on stderr), never a crash (exit 1
with a traceback's class name), and never silently accepted: duplicate JSON keys, deep nesting,
numbers no step can hold, folders and special files where a file is expected, long inline tokens;
what `poh workflow validate` accepts, a session runs and signs; -vv logs no photo's EXIF; a photo
of five people is reported as five."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from verdict_helpers import signed_verdict_bytes

from app.cli.main import run
from app.lab.cli.main import run as lab_run
from app.workflows import DEFAULT_WORKFLOW
from sync.credential import issue_credential
from sync.device_key import DeviceKey
from sync.vocabulary import LivenessMethod

DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "1" * 5_000
MAX_SAFE_INTEGER = 2**53 - 1


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], *says: str,
             lab: bool = False) -> str:
    code = (lab_run if lab else run)(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "internal failure" not in err and "Traceback" not in err
    for s in says:
        assert s in err, err
    return err


def _device_token() -> tuple[DeviceKey, str]:
    key = DeviceKey.generate()
    return key, issue_credential(key, vendor_data="v", method=LivenessMethod.PASSIVE,
                                 unique=True, workflow="w@1", validity_seconds=600)


# ---- credentials ------------------------------------------------------------------------------

def test_a_duplicate_revoked_member_does_not_let_a_revoked_credential_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, token = _device_token()
    keys = tmp_path / "issuers.json"
    keys.write_text(json.dumps({"keys": [key.public_jwk()]}))
    assert run(["credential", "verify", token, "--issuer-keys", str(keys), "--json"]) == 0
    jti = json.loads(capsys.readouterr().out)["jti"]
    revoked = tmp_path / "revoked.json"
    revoked.write_text(f'{{"revoked": ["{jti}"], "revoked": []}}')
    _refused(capsys, ["credential", "verify", token, "--issuer-keys", str(keys),
                      "--revocations", str(revoked)], "revoked: key appears twice")


def test_a_duplicate_keys_member_in_issuer_keys_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, token = _device_token()
    keys = tmp_path / "issuers.json"
    keys.write_text(f'{{"keys": [{json.dumps(DeviceKey.generate().public_jwk())}], '
                    f'"keys": [{json.dumps(key.public_jwk())}]}}')
    _refused(capsys, ["credential", "verify", token, "--issuer-keys", str(keys)],
             "keys: key appears twice")


@pytest.mark.parametrize("content", [
    DEEP, '{"revoked": [' + LONG_INT + "]}", '{"revoked": [1e400]}', "FOLDER",
])
def test_revocation_lists_that_crashed_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    key, token = _device_token()
    keys = tmp_path / "issuers.json"
    keys.write_text(json.dumps(key.public_jwk()))
    revoked = tmp_path / "revoked.json"
    if content == "FOLDER":
        revoked.mkdir()
    else:
        revoked.write_text(content)
    _refused(capsys, ["credential", "verify", token, "--issuer-keys", str(keys),
                      "--revocations", str(revoked)], "credential refused")


def test_issuer_keys_that_are_a_folder_or_deep_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, token = _device_token()
    _refused(capsys, ["credential", "verify", token, "--issuer-keys", str(tmp_path)],
             "is a folder")
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    _refused(capsys, ["credential", "verify", token, "--issuer-keys", str(deep)],
             "nested more than")


def test_long_inline_tokens_are_refused_not_looked_up_as_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, token = _device_token()
    keys = tmp_path / "issuers.json"
    keys.write_text(json.dumps(key.public_jwk()))
    for junk in ("x" * 5_000, token + "!" + "A" * 5_000, token[:30] + "." * 400):
        _refused(capsys, ["credential", "verify", junk, "--issuer-keys", str(keys)],
                 "neither a compact JWS nor a file")
    _refused(capsys, ["credential", "verify", "eyJ" + "A" * 5000 + ".e30.AAAA",
                      "--issuer-keys", str(keys)], "credential refused")
    _refused(capsys, ["credential", "verify", str(tmp_path), "--issuer-keys", str(keys)],
             "is a folder")
    _refused(capsys, ["credential", "qr", token, "--png", str(tmp_path)], "--png", "is a folder")


# ---- verdicts ---------------------------------------------------------------------------------

def test_verdict_files_and_public_keys_that_crashed_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = DeviceKey.generate().public_jwk()["x"]
    for content in (DEEP, '{"a":' + LONG_INT + "}"):
        path = tmp_path / "v.json"
        path.write_text(content)
        _refused(capsys, ["verdict", "verify", str(path), "--public-key", key], "verdict bytes")
    _refused(capsys, ["verdict", "verify", str(tmp_path), "--public-key", key], "is a folder")
    path = tmp_path / "v.json"
    _refused(capsys, ["verdict", "verify", str(path), "--public-key", str(tmp_path)],
             "--public-key", "is a folder")
    dup = tmp_path / "k.json"
    jwk = DeviceKey.generate().public_jwk()
    dup.write_text(json.dumps(jwk)[:-1] + f', "x": "{DeviceKey.generate().public_jwk()["x"]}"}}')
    _refused(capsys, ["verdict", "verify", str(path), "--public-key", str(dup)],
             "x: key appears twice")
    for seq in ("\u00b2", "9" * 5_000):  # "²" is a digit to str.isdigit, not to int()
        _refused(capsys, ["verdict", "show", seq])
    _refused(capsys, ["verdict", "show", "1", "--out", str(tmp_path)], "--out", "is a folder")


def test_a_public_key_pasted_inline_as_json_is_read_not_looked_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`poh keys show --public --json` output pasted as --public-key (longer than a file name
    may be) verifies; it used to fail with 'File name too long'."""
    own = DeviceKey.generate()
    path = tmp_path / "v.json"
    path.write_bytes(signed_verdict_bytes(own))
    jwk = own.public_jwk()
    shown = json.dumps({"device_id": own.device_id, "key_id": own.key_id, "public_key": jwk,
                        "jwks": {"keys": [jwk]}}, indent=2)  # as `poh keys show` prints it
    assert len(shown) > 255
    assert run(["verdict", "verify", str(path), "--public-key", shown]) == 0, \
        capsys.readouterr().err


# ---- workflows: what validate accepts, a session runs -----------------------------------------

def _workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.json"
    path.write_text(text)
    return path


def _default_with(**over: object) -> str:
    doc = json.loads(DEFAULT_WORKFLOW.read_text())
    doc.update(over)
    return json.dumps(doc)


@pytest.mark.parametrize(("text", "says"), [
    (_default_with(version=2**53), "version: integer 9007199254740992 is out of range"),
    (_default_with()[:-1] + ', "session": {"expiry_seconds": 1e400}}',
     "key appears twice"),
    (_default_with(session={"expiry_seconds": 1e300}), "session.expiry_seconds"),
    (_default_with()[:-1] + f', "x": {LONG_INT}}}', "x: integer 1111"),
    (_default_with()[:-1] + ', "x": ' + DEEP + "}", "nested more than"),
])
def test_workflow_validate_refuses_what_a_session_could_not_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, says: str) -> None:
    _refused(capsys, ["workflow", "validate", str(_workflow(tmp_path, text))], says)


def test_workflow_validate_refuses_infinite_expiry(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(DEFAULT_WORKFLOW.read_text())
    doc["session"]["expiry_seconds"] = 1
    text = json.dumps(doc).replace('"expiry_seconds": 1', '"expiry_seconds": 1e400')
    _refused(capsys, ["workflow", "validate", str(_workflow(tmp_path, text))],
             "session.expiry_seconds: number 1e400 is out of range")


def test_workflow_paths_that_are_not_files_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(capsys, ["workflow", "validate", str(tmp_path)], "is a folder")
    _refused(capsys, ["workflow", "validate", "/dev/zero"], "not a regular file")
    _refused(capsys, ["workflow", "validate", "w" * 5_000], "file name too long")


def test_the_largest_version_validate_accepts_runs_and_is_signed(
        tmp_path: Path, data_dir: Path, models_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    wf = _workflow(tmp_path, _default_with(version=MAX_SAFE_INTEGER))
    assert run(["workflow", "validate", str(wf)]) == 0
    capsys.readouterr()
    out = tmp_path / "verdict.json"
    code = lab_run(["session", "run", "--home", str(tmp_path / "lab"), "--workflow", str(wf),
                    "--camera", str(data_dir / "colour" / "obama.jpg"), "--vendor-data", "v",
                    "--verdict-out", str(out), "--json"])
    assert code == 0, capsys.readouterr().err
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict["workflow_version"] == MAX_SAFE_INTEGER and verdict["status"]
    assert json.loads(out.read_bytes())["workflow_version"] == MAX_SAFE_INTEGER


# ---- sessions: outputs and options checked before anything runs ---------------------------------

def test_session_outputs_that_cannot_be_written_are_refused_before_the_session(
        tmp_path: Path, data_dir: Path, models_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    wf = str(DEFAULT_WORKFLOW)
    _refused(capsys, ["session", "run", "--workflow", wf, "--camera", "0", "--vendor-data", "v",
                      "--verdict-out", str(tmp_path)], "--verdict-out", "is a folder")
    _refused(capsys, ["session", "run", "--workflow", wf, "--camera", "0", "--vendor-data", "v",
                      "--qr-png", str(tmp_path / "missing" / "qr.png")], "--qr-png",
             "does not exist")
    lab = tmp_path / "lab"
    _refused(capsys, ["session", "run", "--home", str(lab), "--workflow", wf, "--camera",
                      str(data_dir / "colour" / "obama.jpg"), "--vendor-data", "v",
                      "--verdict-out", str(tmp_path)], "--verdict-out", "is a folder", lab=True)
    from app.kiosk.storage import open_database
    from storage.config import StorageConfig
    from sync.verdict_store import VerdictStore

    db = open_database(lab, StorageConfig())
    try:  # no session ran, no verdict was signed
        assert VerdictStore(db).last_sequence() == 0
    finally:
        db.close()


@pytest.mark.parametrize("camera", ["\u00b2", "9" * 40])
def test_odd_camera_indexes_are_refused(capsys: pytest.CaptureFixture[str], camera: str) -> None:
    _refused(capsys, ["session", "run", "--workflow", str(DEFAULT_WORKFLOW), "--camera", camera,
                      "--vendor-data", "v"], "--camera")


# ---- images and configuration -----------------------------------------------------------------

def test_image_paths_that_are_not_files_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    _refused(capsys, ["check", str(fifo)], "not a regular file")
    _refused(capsys, ["check", "p" * 5_000 + ".jpg"], "File name too long")
    _refused(capsys, ["check", str(tmp_path)], "is a folder")


def test_a_configuration_that_is_a_folder_or_infinite_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    monkeypatch.setenv("POH_CONFIG", str(tmp_path))
    _refused(capsys, ["check", str(image)], "is a folder")
    cfg = tmp_path / "config.json"
    cfg.write_text('{"evidence": {"max_age_days": 1e400}}')
    monkeypatch.setenv("POH_CONFIG", str(cfg))
    _refused(capsys, ["check", str(image)], "evidence.max_age_days", "not a finite number")
    cfg.write_text('{"inference": {"threads": 1e300}}')
    _refused(capsys, ["check", str(image)], "inference.threads")


# ---- face counts and logging -------------------------------------------------------------------

def _five_faces(data_dir: Path, tmp_path: Path) -> Path:
    img = cv2.imread(str(data_dir / "colour" / "obama.jpg"))
    h, w = img.shape[:2]
    s = min(h, w)
    tile = cv2.resize(img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s],
                      (300, 300))
    blank = np.full_like(tile, 200)
    grid = np.vstack([np.hstack([tile, tile, tile]), np.hstack([tile, tile, blank])])
    path = tmp_path / "five.jpg"
    cv2.imwrite(str(path), grid)
    return path


def test_five_faces_are_reported_as_five(tmp_path: Path, data_dir: Path, models_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The pipeline analyses at most max_faces (4) but counts every face it found."""
    five = _five_faces(data_dir, tmp_path)
    assert run(["check", str(five), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faces_detected"] == 5
    assert {"code": "MULTIPLE_FACES_DETECTED"} in result["liveness"]["warnings"]
    _refused(capsys, ["enroll", str(five), "--vendor-data", "v"], "5 faces found")


def test_very_verbose_logging_keeps_third_party_debug_output_out(
        tmp_path: Path, data_dir: Path, models_dir: Path) -> None:
    """-vv opens the project's own loggers only: Pillow would log every EXIF tag of a photo."""
    from PIL import Image

    photo = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0132] = "2026:01:01 10:00:00"  # DateTime
    with Image.open(data_dir / "colour" / "obama.jpg") as im:
        im.save(photo, exif=exif)
    env = {**os.environ, "POH_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", "from app.cli.main import main; main()",
                           "-vv", "check", str(photo)],
                          env=env, capture_output=True, text=True, timeout=300, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG inference." in proc.stderr  # our own debug output is there
    assert "SecretCam" not in proc.stderr and "PIL" not in proc.stderr


def test_building_a_face_index_graph_writes_nothing_to_stderr() -> None:
    """nmslib's import wrote a three-line CPU-feature note to file descriptor 2: a refusal
    after it would not be one line on stderr."""
    code = ("import numpy as np\n"
            "from storage.hnsw_graph import GraphParams, HnswGraph\n"
            "from storage.memfile import memory_file\n"
            "v = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)\n"
            "with memory_file('graph') as (fd, path):\n"
            "    g = HnswGraph.build(np.arange(50, dtype=np.int64), v, GraphParams(8, 50, 50),\n"
            "                        1, fd, path)\n"
            "    assert len(g) == 50\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_a_bad_workflow_is_bad_input_for_every_command(
        tmp_path: Path, data_dir: Path, models_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """enroll and search read --workflow without a mapping of their own: exit 2, not 1."""
    assert run(["db", "init"]) == 0
    capsys.readouterr()
    image = str(data_dir / "colour" / "obama.jpg")
    bad = tmp_path / "wf.json"
    bad.write_text(_default_with(version=2**53))
    for argv in (["search", image, "--workflow", str(tmp_path)],
                 ["search", image, "--workflow", str(bad)],
                 ["enroll", image, "--vendor-data", "v", "--workflow", str(bad)]):
        _refused(capsys, argv, "wf" if argv[-1] == str(bad) else "is a folder")


@pytest.mark.parametrize("vendor", ["ab\udcffcd", "a\x7fb"])
def test_vendor_data_a_verdict_could_not_carry_is_refused_before_the_session(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], vendor: str) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: the session used to run and
    then fail to sign its verdict (exit 1)."""
    _refused(capsys, ["session", "run", "--home", str(tmp_path / "lab"), "--workflow",
                      str(DEFAULT_WORKFLOW), "--camera", str(data_dir / "colour" / "obama.jpg"),
                      "--vendor-data", vendor], "--vendor-data", lab=True)
