"""The product path end to end, every part a real process: `poh fleet init|add-device|join`,
mosquitto on the fleet's rendered configuration, `poh hub run --hub-dir`, and `poh sync run`
on the joined booth (its membership: client key from the encrypted file, the hub key from the
bundle, the registration sent beside the drain)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from support.mosquitto import Mosquitto, free_port

from app.lab.benchmarks.sync_booths import append_verdicts, open_booth

POH = [sys.executable, "-c", "from app.launcher import main; main()"]
PASSPHRASE = "correct horse battery staple"


def _poh(*args: str, home: Path | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("POH_HOME", "POH_CONFIG")}
    if home is not None:
        env["POH_HOME"] = str(home)
    done = subprocess.run([*POH, *args, "--json"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return dict(json.loads(done.stdout))


def test_joined_booth_drains_to_the_hub(tmp_path: Path) -> None:
    port = free_port()
    url = f"mqtts://127.0.0.1:{port}"
    fleet = tmp_path / "fleet"
    _poh("fleet", "init", str(fleet), "--fleet-id", "town", "--broker", url)
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    bundle = str(_poh("fleet", "add-device", "booth-a", "--fleet", str(fleet),
                      "--passphrase-file", str(tmp_path / "pass"))["bundle"])
    home = tmp_path / "booth-a"
    _poh("fleet", "join", bundle, "--passphrase-file", str(tmp_path / "pass"),
         "--register-timeout", "0", home=home)
    booth = open_booth(home, fleet="town")
    try:
        assert booth.device_id == "booth-a"
        append_verdicts(booth, 25)
    finally:
        booth.close()
    conf = (fleet / "broker" / "mosquitto.conf").read_text(encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    with Mosquitto(fleet / "broker", config=conf, port=port):
        hub = subprocess.Popen([*POH, "hub", "run", "--broker", url, "--hub-dir",
                                str(fleet / "hub"), "--fleet", "town", "--db", db],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            out = _poh("sync", "run", "--once", "--timeout", "120", home=home)
            assert out["stored"] == 25 and out["outbox_pending"] == 0, out
        finally:
            hub.send_signal(signal.SIGTERM)
            _, err = hub.communicate(timeout=60)
        assert hub.returncode == 0, err.decode()[-2000:]
    status = _poh("hub", "status", "--db", db)
    assert status["verdicts"] == 25
    assert [d["device"] for d in status["devices"]] == ["booth-a"]  # type: ignore[union-attr]
    audit = _poh("hub", "audit", "--db", db)
    assert audit["verified"] == 25 and not audit["gaps"]
    sync_status = _poh("sync", "status", home=home)
    assert sync_status["outbox_pending"] == 0 and sync_status["fleet"] == "town"
    assert sync_status["last_sync"] is not None
