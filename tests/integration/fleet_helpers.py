"""Shared by the fleet tests: a fleet from `poh fleet init` whose broker runs the shipped
mosquitto configuration (packaging/mosquitto/) on a free port, booths joined through the CLI,
and links with the fleet's certificates."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.mosquitto import Mosquitto, free_port

from app.cli.main import run
from sync.fleet.broker_conf import render_acl, render_conf
from sync.fleet.folder import FleetFolder, init_fleet
from sync.transport import BrokerSettings, LinkEvent, MqttLink, TlsFiles

PASSPHRASE = "fleet-test-passphrase"


def eventually(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for a state the fleet reaches asynchronously (a deadline, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}")
        time.sleep(0.2)


@dataclass
class Fleet:
    folder: FleetFolder
    broker: Mosquitto
    port: int


@contextmanager
def fleet_with_broker(tmp: Path, fleet_id: str = "f1") -> Iterator[Fleet]:
    port = free_port()
    folder = init_fleet(tmp / "fleet", fleet_id, f"mqtts://127.0.0.1:{port}")
    b = folder.path / "broker"
    files = {name: (b / name).read_bytes() for name in ("ca.crt", "server.crt", "server.key")}
    # the shipped files, rendered for the broker's test folder (the helper fills {dir}/{port})
    files["acl"] = render_acl(fleet_id)
    broker = Mosquitto(tmp / "broker", config=render_conf("{dir}", "{port}"), files=files,
                       port=port)
    broker.start()
    try:
        yield Fleet(folder, broker, port)
    finally:
        broker.stop()


def poh(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, Any, str]:
    """Run `poh ARGS --json` in-process with POH_HOME=home: (exit code, JSON out, stderr)."""
    saved = os.environ.get("POH_HOME")
    os.environ["POH_HOME"] = str(home)
    os.environ.pop("POH_CONFIG", None)
    try:
        capsys.readouterr()
        code = run([*args, "--json"])
    finally:
        if saved is None:
            os.environ.pop("POH_HOME", None)
        else:
            os.environ["POH_HOME"] = saved
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 and out.strip() else None, err


def add_and_join(capsys: pytest.CaptureFixture[str], fleet: Fleet, home: Path, device: str,
                 *, register_timeout: float = 10.0) -> dict[str, Any]:
    pw = fleet.folder.path / "pass.txt"
    if not pw.exists():
        pw.write_text(PASSPHRASE + "\n")
    code, out, err = poh(capsys, home, "fleet", "add-device", device, "--fleet",
                         str(fleet.folder.path), "--passphrase-file", str(pw))
    assert code == 0, err
    code, joined, err = poh(capsys, home, "fleet", "join", out["bundle"], "--passphrase-file",
                            str(pw), "--register-timeout", str(register_timeout))
    assert code == 0, err
    return dict(joined)


def hub_link(fleet: Fleet, client_id: str = "hub-test") -> MqttLink:
    h = fleet.folder.path / "hub"
    return MqttLink(BrokerSettings.from_url(fleet.folder.broker_url, client_id, TlsFiles(
        ca=h / "ca.crt", cert=h / "hub.crt", key=h / "hub.key")))


def wait_for(link: MqttLink, want: type, pred: Callable[[Any], bool] | None = None,
             timeout: float = 15.0) -> list[LinkEvent]:
    """Events up to and including the first `want` that satisfies `pred`."""
    seen: list[LinkEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = link.get(0.2)
        if ev is None:
            continue
        seen.append(ev)
        if isinstance(ev, want) and (pred is None or pred(ev)):
            return seen
    raise AssertionError(f"no {want.__name__} within {timeout}s; saw {seen}")
