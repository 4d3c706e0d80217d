"""Operator console on an open kiosk: status, export of a day's verdicts, erasure, the gate."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import sync.verdict
import sync.vocabulary
from app.cli.main import run
from app.errors import BadInputError
from app.kiosk.operator import OperatorConfig, OperatorLockedError, gate_for, hash_pin
from app.kiosk.operator_console import OperatorConsole, RecentErrors
from app.kiosk.root import Kiosk

PIN = "13579"


def abandoned(kiosk: Kiosk, who: str) -> str:
    flow = kiosk.new_session(sync.verdict.CaptureSource(
        kind=sync.vocabulary.CaptureKind.CAMERA, detail="test"), who)
    flow.start(0.0)
    flow.consent(False, 0.1)
    return flow.session_id


@pytest.fixture()
def console(kiosk: Kiosk, tmp_path: Path) -> OperatorConsole:
    gate = gate_for(OperatorConfig(pin_hash=hash_pin(PIN)), kiosk.storage.home)
    return OperatorConsole(kiosk, gate, errors=RecentErrors())


def test_every_action_needs_the_pin(console: OperatorConsole, tmp_path: Path) -> None:
    for action in (console.status, lambda: console.erase("alice"),
                   lambda: console.export_day(datetime.now(UTC).date(), tmp_path / "x"),
                   console.quit):
        with pytest.raises(OperatorLockedError):
            action()
    assert not (tmp_path / "x").exists()
    assert console.gate.unlock(PIN).ok
    console.lock()
    with pytest.raises(OperatorLockedError):
        console.status()


def test_status_export_verify_erase(kiosk: Kiosk, console: OperatorConsole,
                                    tmp_path: Path) -> None:
    quit_called: list[bool] = []
    console._on_quit = lambda: quit_called.append(True)
    a1, a2, b1 = abandoned(kiosk, "alice"), abandoned(kiosk, "alice"), abandoned(kiosk, "bob")
    assert console.gate.unlock(PIN).ok
    st = console.status()
    assert st.workflow_ref == kiosk.workflow.ref
    assert st.sessions == {"Abandoned": 3}
    assert st.outbox_backlog == 3 and st.oldest_unsent is not None
    assert st.last_sequence == 3 and st.recent_errors == []
    handler = console._errors
    assert handler is not None
    logger = logging.getLogger("sync.operator_test")
    logger.addHandler(handler)
    try:
        logger.error("broker down\nmore")
        logger.info("fine")
    finally:
        logger.removeHandler(handler)
    assert [e.split(" ", 1)[1] for e in console.status().recent_errors] == [
        "ERROR sync.operator_test: broker down"]

    today = datetime.now(UTC).date()
    out = tmp_path / "export"
    files = console.export_day(today, out)
    assert [f.name for f in files] == [f"1-{a1}.json", f"2-{a2}.json", f"3-{b1}.json"]
    assert out.stat().st_mode & 0o777 == 0o700
    store = kiosk.storage.verdicts()
    for seq, f in enumerate(files, 1):
        assert f.read_bytes() == store.verdict_bytes(seq)
    jwk = tmp_path / "pub.jwk"
    jwk.write_text(json.dumps(kiosk.key.public_jwk()))
    assert run(["verdict", "verify", str(files[0]), "--public-key", str(jwk)]) == 0

    with pytest.raises(BadInputError, match="not empty"):
        console.export_day(today, out)
    assert console.export_day(today - timedelta(days=1), tmp_path / "yesterday") == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(console.export_day(today, empty)) == 3

    res = console.erase("alice")
    assert (res.sessions, res.verdicts, res.templates) == (2, 2, 0)
    assert console.status().sessions == {"Abandoned": 1}
    assert console.erase("alice").sessions == 0

    console.quit()
    assert quit_called == [True] and not console.gate.unlocked


def test_cli_export_day(kiosk: Kiosk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    abandoned(kiosk, "carol")
    home = tmp_path / "home"
    monkeypatch.setenv("POH_HOME", str(home))
    monkeypatch.setenv("POH_DB_KEY", bytes(range(32)).hex())  # the fixture's key
    monkeypatch.delenv("POH_CONFIG", raising=False)
    (home / "config.json").write_text(json.dumps({"inference": {
        "models_dir": str(kiosk.config.inference.models_dir)}}))
    kiosk.close()  # the CLI opens the booth itself
    out = tmp_path / "cli-export"
    day = datetime.now(UTC).date().isoformat()
    assert run(["operator", "export-day", day, str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["day"] == day and len(report["files"]) == 1
    assert run(["operator", "export-day", day, str(out)]) == 2
    assert run(["operator", "export-day", "2026-13-01", str(tmp_path / "z")]) == 2


def test_cli_set_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sync": {}, "quality": {}}))
    monkeypatch.setenv("POH_CONFIG", str(cfg))
    answers = iter(["2468", "2468"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(["operator", "set-pin"]) == 0
    doc = json.loads(cfg.read_text())
    assert set(doc) == {"sync", "quality", "operator"}
    assert doc["operator"]["pin_hash"].startswith("scrypt$16384$8$1$")
    assert os.stat(cfg).st_mode & 0o777 == 0o600
    answers = iter(["2468", "2469"])
    assert run(["operator", "set-pin"]) == 2
    answers = iter(["12", "12"])
    assert run(["operator", "set-pin"]) == 2
    assert json.loads(cfg.read_text()) == doc
