"""A fleet of real processes for the sync benchmark and the chaos tests: mosquitto with the
shipped configuration (packaging/mosquitto/: TLS, client certificates, the fleet ACL) and the
lab's CA, `poh hub run` (SQLite or a given URL), and booths, each a real data
folder whose drain is `poh sync run` in its own process. Every process can be killed with
SIGKILL and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.lab.benchmarks.sync_booths import open_booth
from app.lab.broker_process import Mosquitto
from app.lab.fleet_certs import TestCA, tls_broker_files
from sync.device_key import public_jwk
from sync.fleet.broker_conf import render_acl, render_conf

POH = [sys.executable, "-c", "from app.launcher import main; main()"]
FLEET = "lab"


class RigError(RuntimeError):
    pass


@dataclass
class RigBooth:
    home: Path
    device_id: str
    jwk: Path
    drain: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.home.parent / f"{self.device_id}.drain.log"


class FleetRig:
    def __init__(self, folder: Path, db_url: str | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = TestCA("poh lab fleet CA")
        # the shipped configuration (packaging/mosquitto/) with this rig's certificates
        files = tls_broker_files(self.ca, render_acl(FLEET))
        self.broker = Mosquitto(folder / "broker", render_conf("{dir}", "{port}"), files)
        self.hub_dir = folder / "hub"
        self.ca.write_client(self.hub_dir, "hub")
        for name in ("hub.crt", "hub.key"):
            assert (self.hub_dir / name).is_file()
        key = Ed25519PrivateKey.generate()
        (self.hub_dir / "signing.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.hub_jwk = folder / "hub.jwk.json"
        self.hub_jwk.write_text(json.dumps(public_jwk(key.public_key(), "hub")))
        self.db_url = db_url or f"sqlite:///{folder / 'hub.db'}"
        self.hub: subprocess.Popen[bytes] | None = None
        self.booths: list[RigBooth] = []
        # the rig's booths are simulated and their verdicts say so (capture source
        # `simulation`); the hub accepts those only from a fleet marked for testing
        self.hub_cli("testing", FLEET, "--on")

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.broker.port}"

    def _env(self, home: Path | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if home is not None:
            env["POH_HOME"] = str(home)
        return env

    # ---- hub -------------------------------------------------------------------------------
    def start_hub(self, workers: int = 1) -> None:
        log = (self.folder / "hub.log").open("ab")
        self.hub = subprocess.Popen(
            [*POH, "hub", "run", "--broker", self.url, "--hub-dir", str(self.hub_dir), "--db",
             self.db_url, "--workers", str(workers)], stdout=log, stderr=log,
            env=self._env(), start_new_session=True)
        log.close()

    def kill_hub(self) -> None:
        if self.hub is not None and self.hub.poll() is None:
            os.killpg(self.hub.pid, signal.SIGKILL)  # the worker processes too
            self.hub.wait()
        self.hub = None

    def stop_hub(self) -> None:
        if self.hub is not None and self.hub.poll() is None:
            self.hub.send_signal(signal.SIGTERM)
            try:
                self.hub.wait(30)
            except subprocess.TimeoutExpired:
                self.kill_hub()
        self.hub = None

    def hub_cli(self, *args: str) -> str:
        done = subprocess.run([*POH, "hub", *args, "--db", self.db_url], capture_output=True,
                              text=True, env=self._env(), timeout=300, check=False)
        if done.returncode != 0:
            raise RigError(f"poh hub {args[0]}: {done.stderr.strip()[-500:]}")
        return done.stdout

    def hub_status(self) -> dict[str, object]:
        return dict(json.loads(self.hub_cli("status", "--json")))

    # ---- booths ----------------------------------------------------------------------------
    def add_booth(self, name: str) -> RigBooth:
        home = self.folder / "booths" / name
        booth = open_booth(home, device_id=name, fleet=FLEET)
        try:
            jwk = self.folder / "booths" / f"{name}.jwk.json"
            jwk.write_text(json.dumps(booth.key.public_jwk()))
        finally:
            booth.close()
        self.ca.write_client(home.parent / f"{name}.tls", name)
        rb = RigBooth(home, name, jwk)
        self.booths.append(rb)
        self.hub_cli("register", FLEET, name, str(jwk))
        return rb

    def drain_command(self, b: RigBooth, *extra: str) -> list[str]:
        tls = b.home.parent / f"{b.device_id}.tls"
        return [*POH, "sync", "run", "--broker", self.url, "--fleet", FLEET,
                "--ca", str(tls / "ca.crt"), "--cert", str(tls / f"{b.device_id}.crt"),
                "--key", str(tls / f"{b.device_id}.key"), "--hub-key", str(self.hub_jwk),
                *extra]

    def start_drain(self, b: RigBooth, *extra: str) -> subprocess.Popen[bytes]:
        log = b.log.open("ab")
        b.drain = subprocess.Popen(self.drain_command(b, *extra), stdout=subprocess.PIPE,
                                   stderr=log, env=self._env(b.home))
        log.close()
        return b.drain

    def kill_drain(self, b: RigBooth) -> None:
        if b.drain is not None and b.drain.poll() is None:
            b.drain.kill()
            b.drain.communicate()
        b.drain = None

    def stop_drain(self, b: RigBooth) -> bytes:
        out = b""
        if b.drain is not None:
            if b.drain.poll() is None:
                b.drain.send_signal(signal.SIGTERM)
            out, _ = b.drain.communicate(timeout=60)
        b.drain = None
        return out

    def backlog(self, b: RigBooth) -> int:
        booth = open_booth(b.home, fleet=FLEET)
        try:
            return booth.store.backlog().pending
        finally:
            booth.close()

    def close(self) -> None:
        for b in self.booths:
            self.kill_drain(b)
        self.kill_hub()
        self.broker.stop()

    def wait(self, cond: object, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not cond():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise RigError(f"timed out waiting for {what}")
            time.sleep(0.2)
