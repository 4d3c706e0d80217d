"""The hub as an appliance installs it: the wheelhouse of `make package-hub`
(packaging/hub_wheelhouse.py), installed by `packaging/install.sh --role hub` into a temporary
root, twice, with no network (a network namespace of its own, `unshare -n`, where the machine
allows it; pip runs with --no-index either way); then the installed venv's `poh`, and the
command line of the rendered poh-hub.service with the hub.env the script wrote, run against a
real mosquitto on the fleet's TLS configuration from the installed `poh fleet init`, answering
GET /health; and `systemd-analyze verify` on the rendered unit.

Slow: the wheelhouse build (unless dist/poh-hub/ is of HEAD's commit and of the current lock)
and a venv of about 700 MB."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.file_tree import tree
from support.mosquitto import MOSQUITTO, free_port

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "packaging" / "install.sh"
LOCK = REPO / "requirements" / "hub.txt"
DIST = REPO / "dist" / "poh-hub"

pytestmark = pytest.mark.slow


def _run(cmd: list[str], timeout: int = 600, code: int = 0, **kwargs: object
         ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)
    assert done.returncode == code, f"{cmd} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_fresh(house: Path) -> bool:
    try:
        manifest = json.loads((house / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    head = _run(["git", "rev-parse", "HEAD"], cwd=REPO).stdout.strip()
    return bool(manifest.get("commit") == head and manifest.get("lock_sha256") == _sha256(LOCK))


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/poh-hub/ when it is of HEAD and of the current lock, else a new one built here."""
    if _is_fresh(DIST):
        return DIST
    out = tmp_path_factory.mktemp("wheelhouse") / "poh-hub"
    _run([sys.executable, str(REPO / "packaging" / "hub_wheelhouse.py"), "--lock", str(LOCK),
          "--out", str(out)], timeout=1800)
    assert _is_fresh(out)
    return out


@pytest.fixture(scope="module")
def offline() -> Iterator[list[str]]:
    """A command prefix that runs a program in a network namespace holding only a loopback
    interface (nsenter into the namespace a `sleep` holds), or [] where the machine forbids it."""
    tools = [shutil.which(t) for t in ("unshare", "nsenter", "ip")]
    unshare, nsenter, ip = tools
    if unshare is None or nsenter is None or ip is None or \
            subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        yield []
        return
    holder = subprocess.Popen([unshare, "-n", "sleep", "3600"])
    try:
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == own:  # unshare has not run yet
            assert time.monotonic() < deadline
            time.sleep(0.01)
        prefix = [nsenter, "-t", str(holder.pid), "-n"]
        _run([*prefix, ip, "link", "set", "lo", "up"])
        yield prefix
    finally:
        holder.kill()
        holder.wait()


def test_the_wheelhouse_names_every_wheel_by_its_hash_and_holds_no_qt(wheelhouse: Path
                                                                       ) -> None:
    wheels = {p.name: p for p in (wheelhouse / "wheels").iterdir()}
    lines = [line for line in (wheelhouse / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(lines) == len(wheels)
    hashes = {_sha256(p): name for name, p in wheels.items()}
    lock = LOCK.read_text()
    for line in lines:
        pin, digest = re.fullmatch(r"(\S+==\S+) --hash=sha256:([0-9a-f]{64})", line).groups()
        assert digest in hashes, line  # names a file of wheels/, by its content
        # every dependency is the lock's pin, one of the files the lock allows
        if not pin.startswith("poh-kiosk=="):
            assert re.search(rf"^{re.escape(pin)} \\$", lock, re.M | re.I), pin
            assert f"sha256:{digest}" in lock, pin
    names = " ".join(wheels).lower()
    assert "poh_kiosk-0.1.0-py3-none-any.whl" in wheels
    assert "pyside6" not in names and "shiboken6" not in names
    assert all(n.endswith(".whl") for n in wheels)
    manifest = json.loads((wheelhouse / "manifest.json").read_text())
    assert manifest["kind"] == "poh-hub-wheelhouse" and manifest["python"] == "cp311"
    assert set(manifest["wheels"]) == set(wheels)
    assert (wheelhouse / "VERSION").read_text().startswith("poh-kiosk 0.1.0 hub wheelhouse, ")


def _unit_command(root: Path) -> list[str]:
    """poh-hub.service's ExecStart= with hub.env's values, as systemd expands them (${X}: one
    word; $X: split on blanks), its absolute paths taken inside the root."""
    unit = (root / "etc/systemd/system/poh-hub.service").read_text()
    [line] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    env = dict(ln.split("=", 1) for ln in (root / "etc/poh-hub/hub.env").read_text().splitlines()
               if ln and not ln.startswith("#"))
    argv: list[str] = []
    for word in shlex.split(line[len("ExecStart="):]):
        if word.startswith("${"):
            argv.append(env[word[2:-1]])
        elif word.startswith("$"):
            argv.extend(env[word[1:]].split())
        elif word.startswith("/"):
            argv.append(str(root) + word)
        else:
            argv.append(word)
    return argv


def test_the_hub_installs_offline_twice_and_serves_health(
        wheelhouse: Path, offline: list[str], tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    install = [*offline, "sh", str(INSTALL), "--root", str(root), "--role", "hub",
               str(wheelhouse)]
    first = _run(install, timeout=1800)
    assert "installed the hub in /opt/poh-hub/venv" in first.stdout
    before = tree(root, mtimes=True)
    second = _run(install)
    assert "already holds this wheelhouse" in second.stdout
    # nothing touched: not one file, mode, link or mtime (byte code included: the venv is left
    # alone when it holds this wheelhouse, so nothing runs in it)
    assert tree(root, mtimes=True) == before
    venvs = sorted(p.name for p in (root / "opt/poh-hub").iterdir())
    assert len(venvs) == 2 and venvs[0] == "venv" and venvs[1].startswith("venv-")
    poh = root / "opt/poh-hub/venv/bin/poh"
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    assert _run([*offline, str(poh), "--version"], env=env).stdout.split() == ["poh", "0.1.0"]
    assert "run" in _run([*offline, str(poh), "hub", "--help"], env=env).stdout
    qt = _run([*offline, str(root / "opt/poh-hub/venv/bin/python"), "-c",
               "import importlib.util as u; print(u.find_spec('PySide6'))"], env=env)
    assert qt.stdout.strip() == "None"

    # the fleet, made by the installed poh; its hub folder goes where the unit reads it
    hub_env = root / "etc/poh-hub/hub.env"
    broker_url = re.search(r"^POH_HUB_BROKER=(\S+)$", hub_env.read_text(), re.M)[1]
    if not offline:  # this machine's own network: the defaults' ports may be taken
        broker_url = f"mqtts://127.0.0.1:{free_port()}"
        hub_env.write_text(hub_env.read_text()
                           .replace("mqtts://127.0.0.1:8883", broker_url)
                           .replace("127.0.0.1:8080", f"127.0.0.1:{free_port()}"))
    fleet = tmp_path / "fleet"
    _run([*offline, str(poh), "fleet", "init", str(fleet), "--fleet-id", "town", "--broker",
          broker_url], env=env)
    for key in (fleet / "hub").iterdir():
        shutil.copy2(key, root / "etc/poh-hub/hub" / key.name)
    conf = fleet / "broker" / "mosquitto.conf"
    if os.geteuid() == 0:  # mosquitto 2 would drop to its own user, who cannot read tmp
        conf.write_text(conf.read_text() + "user root\n")
    http = re.search(r"^POH_HUB_HTTP=(\S+)$", hub_env.read_text(), re.M)[1]
    argv = _unit_command(root)
    assert argv[:3] == [str(poh), "hub", "run"] and f"{root}/etc/poh-hub/hub" in argv

    # as the unit runs it: its folders' variables, its working folder, no POH_* variable
    state = root / "var/lib/poh-hub"
    unit_env = env | {"STATE_DIRECTORY": str(state),
                      "CACHE_DIRECTORY": str(root / "var/cache/poh-hub"),
                      "CONFIGURATION_DIRECTORY": str(root / "etc/poh-hub")}
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "hub.log").open("wb")
    try:
        procs.append(subprocess.Popen([*offline, str(MOSQUITTO), "-c", str(conf)], stdout=log,
                                      stderr=log, start_new_session=True))
        procs.append(subprocess.Popen([*offline, *argv], cwd=state, env=unit_env, stdout=log,
                                      stderr=log, start_new_session=True))
        # a 503 (a check failing, e.g. the broker not yet connected) exits non-zero
        probe = [*offline, sys.executable, "-c", "import sys, urllib.request as u; "
                 "print(u.urlopen(sys.argv[1], timeout=5).read().decode())",
                 f"http://{http}/health"]
        body: dict[str, object] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and body.get("status") != "ok":
            assert all(p.poll() is None for p in procs), (tmp_path / "hub.log").read_text()
            time.sleep(0.5)
            answer = subprocess.run(probe, capture_output=True, text=True, check=False)
            if answer.returncode == 0 and answer.stdout:
                body = json.loads(answer.stdout)
        assert body.get("status") == "ok", (body, (tmp_path / "hub.log").read_text())
        checks = {c["check"]: c for c in body["checks"]}
        assert checks["broker"]["status"] == "ok", checks
        assert checks["database"]["status"] == "ok", checks
        assert (state / "hub.db").is_file()  # sqlite:///hub.db, in the unit's working folder
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(45)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        log.close()

    # the rendered unit names the venv's poh, which is there and executable
    if shutil.which("systemd-analyze") is not None:
        shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True,
                        dirs_exist_ok=True)
        done = _run(["systemd-analyze", "verify", f"--root={root}", "--man=no",
                     "--generators=no", "poh-hub.service"], timeout=120)
        assert done.stderr == "" and done.stdout == "", done.stdout + done.stderr
