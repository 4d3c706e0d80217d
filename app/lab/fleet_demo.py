"""`make demo-fleet`: a whole fleet on this machine, every part a real process.

A fleet from `poh fleet init`, mosquitto running the shipped configuration (TLS, client
certificates, the ACL), `poh hub run` (verdict ingest and the fleet template worker), two booths
joined with their bundles, each running `poh fleet sync` (registration, template sync). A
sample person is enrolled at booth A; booth B finds them; the hub's counts close it.
Everything lives in a scratch folder under the lab's data folder, rebuilt each time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.lab.broker_process import Mosquitto, free_port
from app.lab.home import lab_home
from app.paths import data_dir
from storage.durable import make_private_dir

FLEET = "demo"
POH = [sys.executable, "-c", "from app.launcher import main; main()"]
PASSPHRASE = "demo-fleet-passphrase"  # a demo: the real one is random (add-device prints it)


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POH_HOME", "POH_CONFIG")}
    if home is not None:
        env["POH_HOME"] = str(home)
    return env


def poh(*args: str, home: Path | None = None) -> Any:
    """`poh ARGS --json` to completion; its JSON answer (exit on failure, with its stderr)."""
    res = subprocess.run([*POH, *args, "--json"], env=_env(home), capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"poh {' '.join(args)} failed ({res.returncode}): "
                         f"{res.stderr.strip()}")
    return json.loads(res.stdout)


def background(args: list[str], log: Path, home: Path | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*POH, *args], env=_env(home), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM every process of the demo (each stops cleanly: a retained offline, a hub
    commit), then wait for each; one that outlives `timeout` is killed."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo-fleet: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    root = lab_home() / "fleet-demo"
    if root.exists():
        shutil.rmtree(root)
    make_private_dir(root)
    port = free_port()
    url = f"mqtts://127.0.0.1:{port}"
    fleet = root / "fleet"
    poh("fleet", "init", str(fleet), "--fleet-id", FLEET, "--broker", url)
    say(f"fleet {FLEET}: CA, broker and hub certificates in {fleet}")
    conf = (fleet / "broker" / "mosquitto.conf").read_text(encoding="utf-8")
    broker = Mosquitto(fleet / "broker", config=conf, port=port)
    broker.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        say(f"mosquitto {url} (packaging/mosquitto: TLS, client certificates, ACL)")
        (root / "pass").write_text(PASSPHRASE + "\n")
        homes = {}
        for device in ("booth-a", "booth-b"):
            home = root / device
            bundle = poh("fleet", "add-device", device, "--fleet", str(fleet),
                         "--passphrase-file", str(root / "pass"))["bundle"]
            joined = poh("fleet", "join", bundle, "--passphrase-file", str(root / "pass"),
                         "--register-timeout", "0", home=home)
            say(f"{device}: joined ({joined['status']}), bundle {Path(bundle).name}")
            homes[device] = home
        hub_db = f"sqlite:///{root / 'hub.db'}"
        procs.append(background(["hub", "run", "--broker", url, "--hub-dir",
                                 str(fleet / "hub"), "--fleet", FLEET, "--db", hub_db],
                                root / "hub.log"))
        for device, home in homes.items():
            # the template sync (and the pending registration); `poh sync run` runs the same
            # beside the verdict drain
            procs.append(background(["fleet", "sync"], root / f"{device}.log", home=home))
        say("hub and both booths' sync running")
        sample = data_dir() / "colour"
        enrolled = poh("enroll", str(sample / "obama.jpg"), "--vendor-data", "person-0042",
                       home=homes["booth-a"])
        say(f"booth-a: enrolled person-0042 from obama.jpg (template {enrolled['template_id']})")
        wait_until("booth-b receiving the enrolment", lambda: poh(
            "fleet", "status", home=homes["booth-b"])["gallery_size"] >= 1)
        found = poh("search", str(sample / "obama2.jpg"), home=homes["booth-b"])["face"]
        say(f"booth-b: search of another photo (obama2.jpg): {found['status']}, "
            + ", ".join(f"{m['vendor_data']} {m['similarity_score']:.2f}"
                        for m in found["matches"]) + " "
            + ",".join(w["code"] for w in found["warnings"]))
        other = poh("search", str(sample / "biden.jpg"), home=homes["booth-b"])["face"]
        say(f"booth-b: search of biden.jpg: {other['status']} (no match above the threshold)")
        wait_until("both booths at the hub's last delta", lambda: set(poh(
            "hub", "fleet", "status", "--hub-dir", str(fleet / "hub"), "--fleet", FLEET,
            "--db", hub_db)["booth_cursors"].values()) == {1})
        fleet_counts = poh("hub", "fleet", "status", "--hub-dir", str(fleet / "hub"),
                           "--fleet", FLEET, "--db", hub_db)
        hub = poh("hub", "status", "--db", hub_db)
        say(f"hub: {fleet_counts['templates']} template(s) in the fleet index, last delta "
            f"{fleet_counts['last_seq']}, booth cursors {fleet_counts['booth_cursors']}, "
            f"{len(fleet_counts['reviews'])} in review, "
            f"{len(fleet_counts['erasures'])} erasures; verdicts stored {hub['verdicts']}, "
            f"devices registered {len(hub['devices'])}")
        return 0
    finally:
        stop_all(procs, 20)
        broker.stop()


if __name__ == "__main__":
    sys.exit(main())
