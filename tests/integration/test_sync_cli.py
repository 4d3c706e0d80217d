"""`poh sync` and `poh hub` bad input: one line, exit 2, nothing stored lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.lab.benchmarks.sync_booths import append_verdicts, open_booth
from app.launcher import run


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_sync_run_bad_input(tmp_path: Path, _isolated_home: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    booth = open_booth(_isolated_home, device_id="booth-a")
    append_verdicts(booth, 2)
    booth.close()
    assert run(["sync", "run", "--once"]) == 2
    assert "has not joined a fleet" in _err(capsys)
    assert run(["sync", "run", "--broker", "mqtt://127.0.0.1:1"]) == 2
    assert "--hub-key" in _err(capsys)
    jwk = tmp_path / "bad.jwk"
    jwk.write_text("{}")
    assert run(["sync", "run", "--broker", "ftp://x", "--hub-key", str(jwk)]) == 2
    assert "hub-key" in _err(capsys)
    assert run(["sync", "status", "--json"]) == 0
    assert '"outbox_pending": 2' in capsys.readouterr().out


def test_hub_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    assert run(["hub", "run", "--broker", "mqtt://127.0.0.1:1", "--db", db]) == 2
    assert "--hub-dir or --signing-key" in _err(capsys)
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    assert run(["hub", "run", "--broker", "mqtt://127.0.0.1:1", "--signing-key", str(key),
                "--db", db]) == 2
    assert "not an unencrypted PEM key" in _err(capsys)
    assert run(["hub", "status", "--db", "nosuchdialect://x"]) == 2
    _err(capsys)
    for read_only in (["status"], ["audit"], ["revoke", "f", "ghost", "--reason", "x"]):
        assert run(["hub", *read_only, "--db", db]) == 2
        assert "no hub database" in _err(capsys)
    assert not (tmp_path / "hub.db").exists()  # a command that only reads creates nothing
    assert run(["hub", "testing", "f", "--off", "--db", db]) == 0
    capsys.readouterr()
    assert run(["hub", "revoke", "f", "ghost", "--reason", "x", "--db", db]) == 2
    assert "no device f/ghost" in _err(capsys)
    assert run(["hub", "status", "--json", "--db", db]) == 0
    assert '"verdicts": 0' in capsys.readouterr().out


def test_a_booth_build_without_the_hub_says_so(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sync.hub.cli", None)  # as in the booth's frozen build
    assert run(["hub", "status"]) == 2
    assert "not part of this build" in _err(capsys)
