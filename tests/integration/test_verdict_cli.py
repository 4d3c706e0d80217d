"""`poh keys show`, `poh verdict verify` and `poh credential verify` end to end (exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from verdict_helpers import signed_verdict_bytes

from app.cli import credential_cmd, main, verdict_cmd
from app.cli.context import kiosk_storage
from sync.credential import issue_credential
from sync.device_key import DeviceKey
from sync.vocabulary import LivenessMethod


def device_key() -> DeviceKey:
    """This kiosk's verdict key (the data folder under POH_HOME, initialised if new)."""
    with kiosk_storage(create=True) as storage:
        return storage.device_key()


def _cli(argv: list[str]) -> int:
    """app.cli.main with this issue's groups attached (the lead wires them for good)."""
    names = {g.name for g in main.app.registered_groups}
    if "verdict" not in names:
        main.app.add_typer(verdict_cmd.app, name="verdict")
    if "credential" not in names:
        main.app.add_typer(credential_cmd.app, name="credential")
    keys = next((g.typer_instance for g in main.app.registered_groups if g.name == "keys"),
                None)
    if keys is None:  # storage's store_cmd normally creates the group (`poh keys rotate`)
        keys = typer.Typer(no_args_is_help=True)
        main.app.add_typer(keys, name="keys")
    if "show" not in {c.name for c in keys.registered_commands}:
        verdict_cmd.attach_keys_show(keys)
    return main.run(argv)


def test_keys_show_public(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["keys", "show", "--public"]) == 2  # a read creates no booth
    assert _cli(["db", "init"]) == 0
    capsys.readouterr()
    assert _cli(["keys", "show", "--public", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    dk = device_key()
    assert out["key_id"] == dk.key_id and out["public_key"]["x"] == dk.public_jwk()["x"]
    assert "d" not in out["public_key"]  # never the private part
    assert _cli(["keys", "show"]) == 2


def test_verdict_verify_default_key_and_explicit(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    own = device_key()
    path = tmp_path / "v.json"
    path.write_bytes(signed_verdict_bytes(own))
    assert _cli(["verdict", "verify", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"Approved"', b'"Declined"', 1))
    assert _cli(["verdict", "verify", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "signature" in err[0]

    other = DeviceKey.generate()
    path.write_bytes(signed_verdict_bytes(other))
    assert _cli(["verdict", "verify", str(path)]) == 2  # not this device's key
    capsys.readouterr()
    keyfile = tmp_path / "k.json"
    keyfile.write_text(json.dumps(other.public_jwk()))
    assert _cli(["verdict", "verify", str(path), "--public-key", str(keyfile)]) == 0
    assert _cli(["verdict", "verify", str(path), "--public-key", other.public_jwk()["x"]]) == 0
    assert _cli(["verdict", "verify", str(path), "--public-key", "nonsense!"]) == 2


def test_credential_verify_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = DeviceKey.generate()
    token = issue_credential(key, vendor_data="v", method=LivenessMethod.PASSIVE, unique=True,
                             workflow="w@1", validity_seconds=600)
    keys = tmp_path / "issuers.json"
    keys.write_text(json.dumps({"keys": [key.public_jwk()]}))
    assert _cli(["credential", "verify", token, "--issuer-keys", str(keys), "--json"]) == 0
    jti = json.loads(capsys.readouterr().out)["jti"]
    revoked = tmp_path / "revoked.json"
    revoked.write_text(json.dumps({"revoked": [jti]}))
    assert _cli(["credential", "verify", token, "--issuer-keys", str(keys),
                 "--revocations", str(revoked)]) == 2
    assert "revoked" in capsys.readouterr().err
    old = issue_credential(key, vendor_data="v", method=LivenessMethod.PASSIVE, unique=True,
                           workflow="w@1", validity_seconds=600, now=1_000_000)
    assert _cli(["credential", "verify", old, "--issuer-keys", str(keys)]) == 2
    assert "expired" in capsys.readouterr().err
    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps(DeviceKey.generate().public_jwk()))
    assert _cli(["credential", "verify", token, "--issuer-keys", str(stranger)]) == 2
    assert "unknown key" in capsys.readouterr().err
    tokfile = tmp_path / "token.txt"
    tokfile.write_text(token + "\n")
    assert _cli(["credential", "verify", str(tokfile), "--issuer-keys", str(keys)]) == 0
    png = tmp_path / "qr.png"
    assert _cli(["credential", "qr", token, "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_session_run_refuses_credentials_before_starting(tmp_path: Path, data_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    # a session on a file runs in the lab (its own data folder, signed with its scratch key)
    from app.kiosk.storage import open_database
    from app.lab.cli.main import run as lab_run
    from app.lab.home import scratch_key
    from app.workflows import DEFAULT_WORKFLOW
    from storage.config import StorageConfig
    from sync.verdict_store import VerdictStore

    lab = tmp_path / "lab"
    lab.mkdir()
    own = scratch_key(lab)
    token = issue_credential(own, vendor_data="v", method=LivenessMethod.PASSIVE, unique=True,
                             workflow="w@1", validity_seconds=600, age_over=18)
    # the source is opened before the credential is checked: give one that exists
    image = data_dir / "colour" / "grace_hopper.jpg"
    base = ["session", "run", "--home", str(lab), "--camera", str(image), "--vendor-data", "v",
            "--credential"]
    # the default workflow does not accept credentials
    assert lab_run([*base, token, "--workflow", str(DEFAULT_WORKFLOW)]) == 2
    assert "does not accept reusable credentials" in capsys.readouterr().err
    accepting = tmp_path / "wf.json"
    doc = json.loads(DEFAULT_WORKFLOW.read_text())
    doc["credential"] = {"accept": True, "accepted_methods": ["FLASHING"]}
    accepting.write_text(json.dumps(doc))
    assert lab_run([*base, token, "--workflow", str(accepting)]) == 2
    assert "method PASSIVE is not accepted" in capsys.readouterr().err
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert lab_run([*base, forged, "--workflow", str(accepting)]) == 2
    assert "credential refused" in capsys.readouterr().err
    db = open_database(lab, StorageConfig())
    try:  # no session ran, no verdict was written
        assert VerdictStore(db).last_sequence() == 0
    finally:
        db.close()
