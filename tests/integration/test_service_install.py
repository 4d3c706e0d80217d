"""packaging/install.sh into a temporary root (as if it were /) and the systemd units it lays
out: run twice, the same tree; the folders' modes and owners; configuration and keys never
written over; a missing or wrong bundle refused in one line; every unit accepted by
`systemd-analyze verify`; and the program using the folders systemd hands a unit.

The booth bundle is a stand-in `poh` script (the real one is built by `make package` in
minutes), the hub's wheelhouse a stand-in wheel of poh-kiosk whose `poh` answers like one (the
real one, `make package-hub`, is tested in test_hub_wheelhouse.py, slow): what is under test is
the script and the units, with the real systemd-sysusers, python3.11 -m venv, pip (offline,
hash-checked) and systemd-analyze."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from support.file_tree import tree

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "packaging" / "install.sh"
UNITS = REPO / "packaging" / "systemd"
IS_ROOT = os.geteuid() == 0

BOOTH_POH = """#!/bin/sh
case "$1" in
  --version) echo "poh 0.1.0" ;;
  hub) echo "poh: error: \\`poh hub\\` is not part of this build (sync)" >&2; exit 2 ;;
esac
"""
HUB_POH = """#!/bin/sh
echo "poh 0.1.0 $*"
"""


def make_bundle(folder: Path, script: str = BOOTH_POH) -> Path:
    (folder / "_internal" / "lib").mkdir(parents=True)
    (folder / "poh").write_text(script)
    (folder / "poh").chmod(0o755)
    (folder / "_internal" / "lib" / "libdemo.so.1.2").write_bytes(b"\x7fELF demo")
    (folder / "_internal" / "lib" / "libdemo.so.1").symlink_to("libdemo.so.1.2")
    return folder


STANDIN_MODULE = """import sys


def main():
    print("poh 0.1.0" if sys.argv[1:] == ["--version"] else "poh 0.1.0 " + " ".join(sys.argv[1:]))
"""


def make_wheelhouse(folder: Path, build: str = "1") -> Path:
    """A hub wheelhouse as `make package-hub` lays it out, holding one stand-in wheel of
    poh-kiosk 0.1.0 (`build` changes its content, not its version: a rebuild of the same
    version is a new wheelhouse too)."""
    dist = "poh_kiosk-0.1.0.dist-info"
    files = {"poh_standin.py": STANDIN_MODULE + f"# build {build}\n",
             f"{dist}/METADATA": "Metadata-Version: 2.1\nName: poh-kiosk\nVersion: 0.1.0\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
             f"{dist}/entry_points.txt": "[console_scripts]\npoh = poh_standin:main\n"}
    def record_hash(text: str) -> str:
        raw = hashlib.sha256(text.encode()).digest()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    record = "".join(f"{name},sha256={record_hash(text)},{len(text.encode())}\n"
                     for name, text in files.items()) + f"{dist}/RECORD,,\n"
    (folder / "wheels").mkdir(parents=True)
    wheel = folder / "wheels" / "poh_kiosk-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in (files | {f"{dist}/RECORD": record}).items():
            zf.writestr(name, text)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (folder / "requirements.txt").write_text(f"poh-kiosk==0.1.0 --hash=sha256:{digest}\n")
    (folder / "VERSION").write_text(f"poh-kiosk 0.1.0 hub wheelhouse, stand-in build {build}\n")
    return folder


def install(root: Path, bundle: Path, *args: str, user: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(INSTALL), "--root", str(root), *args, str(bundle)]
    if user is not None:  # an unprivileged install into a folder
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def passwd(root: Path) -> dict[str, tuple[int, int, str]]:
    rows = [line.split(":") for line in (root / "etc" / "passwd").read_text().splitlines()]
    return {r[0]: (int(r[2]), int(r[3]), r[5]) for r in rows}


def test_booth_install_twice_is_the_same_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    bundle = make_bundle(tmp_path / "dist" / "poh")
    first = install(root, bundle, "--role", "booth")
    assert first.returncode == 0, first.stderr
    before = tree(root)
    second = install(root, bundle, "--role", "booth")
    assert second.returncode == 0, second.stderr
    assert tree(root) == before
    assert "installed" not in second.stdout.replace("installed into", "")  # nothing written
    # one user, once; its home is the data folder
    users = passwd(root)
    assert list(users) == ["poh-kiosk"]
    uid, gid, home = users["poh-kiosk"]
    assert home == "/var/lib/poh-kiosk"
    assert "video" in (root / "etc" / "group").read_text()  # the camera's group
    # the bundle, the units with its prefix, the PAM service, the operator's command
    assert (root / "opt/poh-kiosk/poh").read_text() == BOOTH_POH
    assert os.readlink(root / "opt/poh-kiosk/_internal/lib/libdemo.so.1") == "libdemo.so.1.2"
    unit = (root / "etc/systemd/system/poh-kiosk.service").read_text()
    assert "ExecStart=/usr/bin/cage -d -- /opt/poh-kiosk/poh kiosk --fullscreen" in unit
    assert (root / "etc/systemd/system/poh-sync.service").is_file()
    assert (root / "etc/pam.d/poh-kiosk").is_file()
    admin = (root / "usr/local/bin/poh-booth").read_text()
    assert "STATE_DIRECTORY=/var/lib/poh-kiosk" in admin and "--reuid=poh-kiosk" in admin
    # modes (and, when this runs as root, owners: the service user, by its id in the root)
    modes = {"etc/poh-kiosk": 0o750, "var/lib/poh-kiosk": 0o700, "var/cache/poh-kiosk": 0o700,
             "etc/poh-kiosk/kiosk.env": 0o640, "opt/poh-kiosk": 0o755,
             "opt/poh-kiosk/poh": 0o755, "etc/systemd/system/poh-kiosk.service": 0o644,
             "usr/local/bin/poh-booth": 0o755}
    for rel, mode in modes.items():
        assert before[rel][1] == mode, (rel, oct(before[rel][1]))
    if IS_ROOT:
        for rel in ("etc/poh-kiosk", "var/lib/poh-kiosk", "var/cache/poh-kiosk",
                    "etc/poh-kiosk/kiosk.env"):
            assert before[rel][2:4] == (uid, gid), rel
        for rel in ("opt/poh-kiosk/poh", "etc/systemd/system/poh-kiosk.service"):
            assert before[rel][2:4] == (0, 0), rel


def test_configuration_and_keys_are_never_written_over(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    bundle = make_bundle(tmp_path / "dist" / "poh")
    assert install(root, bundle, "--role", "booth").returncode == 0
    env = root / "etc/poh-kiosk/kiosk.env"
    env.write_text("POH_KIOSK_ARGS=--camera 1 --lang en\n")
    config = root / "etc/poh-kiosk/config.json"
    config.write_text('{"sync": {"fleet_id": "town"}}\n')
    config.chmod(0o600)
    key = root / "var/lib/poh-kiosk/keys/db.key"
    key.parent.mkdir(mode=0o700)
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    kept = {p: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in (env, config, key)}
    # a new bundle: the programme is replaced, nothing of the booth's
    shutil.rmtree(bundle)
    make_bundle(bundle, BOOTH_POH + "# 0.1.1\n")
    again = install(root, bundle, "--role", "booth")
    assert again.returncode == 0, again.stderr
    assert "installed the bundle" in again.stdout
    assert (root / "opt/poh-kiosk/poh").read_text().endswith("# 0.1.1\n")
    assert not (root / "opt/poh-kiosk.old").exists() and not (root / "opt/poh-kiosk.new").exists()
    assert {p: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in kept} == kept


def test_hub_install_twice_then_an_upgrade_and_the_refusals(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    booth_bundle = make_bundle(tmp_path / "booth" / "poh")
    refused = install(root, booth_bundle, "--role", "hub")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"install.sh: error: {booth_bundle} is a booth bundle (no hub in it): the hub role "
        "installs the wheelhouse dist/poh-hub/ of `make package-hub`"]
    house = make_wheelhouse(tmp_path / "dist" / "poh-hub")
    refused = install(root, house, "--role", "booth")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"install.sh: error: {house} is the hub's wheelhouse: the booth role installs the booth "
        "bundle (dist/poh/ of `make package`)"]
    refused = install(root, house, "--role", "hub", "--python", "/nonexistent/python3.11")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "install.sh: error: /nonexistent/python3.11 not found: the hub needs the host's Python "
        "3.11 (Debian: apt-get install python3.11 python3.11-venv; or --python PATH)"]
    assert not any(root.iterdir())  # refused before anything was written

    first = install(root, house, "--role", "hub", "--prefix", "/srv/poh")
    assert first.returncode == 0, first.stderr
    assert "installed the hub in /srv/poh/venv" in first.stdout
    before = tree(root)
    again = install(root, house, "--role", "hub", "--prefix", "/srv/poh")
    assert again.returncode == 0, again.stderr
    assert "already holds this wheelhouse" in again.stdout
    assert tree(root) == before  # the venv too, byte code included: nothing ran in it
    assert list(passwd(root)) == ["poh-hub"]
    unit = (root / "etc/systemd/system/poh-hub.service").read_text()
    assert "ExecStart=/srv/poh/venv/bin/poh hub run --broker ${POH_HUB_BROKER}" in unit
    assert "/opt/poh-kiosk" not in unit and "/opt/poh-hub" not in unit
    assert (root / "etc/poh-hub/hub.env").read_text().count("POH_HUB_") == 4
    assert stat.S_IMODE((root / "etc/poh-hub/hub").stat().st_mode) == 0o750
    assert stat.S_IMODE((root / "var/lib/poh-hub").stat().st_mode) == 0o700
    assert '"/srv/poh/venv/bin/poh" hub "$@"' in (root / "usr/local/bin/poh-hub").read_text()
    poh = root / "srv/poh/venv/bin/poh"
    assert subprocess.run([str(poh), "--version"], capture_output=True, text=True,
                          check=True).stdout == "poh 0.1.0\n"
    old_venv = os.readlink(root / "srv/poh/venv")

    # a newer wheelhouse (same version, another build): a new venv, the link moved, the one
    # before kept (a hub not yet restarted still runs from it), the configuration untouched
    (root / "etc/poh-hub/hub.env").write_text("POH_HUB_BROKER=mqtts://broker:8883\n")
    venvs = [old_venv]
    for build in ("2", "3"):
        shutil.rmtree(house)
        make_wheelhouse(house, build=build)
        upgrade = install(root, house, "--role", "hub", "--prefix", "/srv/poh")
        assert upgrade.returncode == 0, upgrade.stderr
        assert "installed the hub in /srv/poh/venv" in upgrade.stdout
        assert f"kept the previous /srv/poh/{venvs[-1]}" in upgrade.stdout
        venvs.append(os.readlink(root / "srv/poh/venv"))
        assert f"# build {build}" in next(
            (root / "srv/poh" / venvs[-1]).rglob("poh_standin.py")).read_text()
        # the current venv and the one before it; older ones are gone
        assert sorted(p.name for p in (root / "srv/poh").iterdir()) == sorted(
            ["venv", *venvs[-2:]])
    assert len(set(venvs)) == 3
    assert (root / "etc/poh-hub/hub.env").read_text() == "POH_HUB_BROKER=mqtts://broker:8883\n"


def test_a_wheelhouse_that_does_not_install_leaves_the_hub_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    house = make_wheelhouse(tmp_path / "poh-hub")
    assert install(root, house, "--role", "hub").returncode == 0
    before = tree(root)
    # a wheel whose content does not match its hash (a damaged copy)
    bad = make_wheelhouse(tmp_path / "bad", build="3")
    wheel = next((bad / "wheels").iterdir())
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("extra.txt", "x")
    done = install(root, bad, "--role", "hub")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("install.sh: error: the wheelhouse did not install (pip, pip check "
                           "or `poh hub --help`): "), line
    assert "HASHES" in line.upper() or "hash" in line, line
    assert tree(root) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "booth", "{tmp}/missing"],
     "bundle {tmp}/missing: no such folder (build it with `make package`)"),
    (["--role", "booth", "{tmp}/empty"],
     "bundle {tmp}/empty: no executable poh in it (give the folder dist/poh/ of "
     "`make package`)"),
    (["--role", "kiosk", "{tmp}/empty"], "--role kiosk: booth or hub"),
    (["{tmp}/empty"], "give --role booth or --role hub"),
    (["--role", "booth"], "give the bundle folder (dist/poh/ of `make package`)"),
    (["--role", "booth", "--prefix", "opt/x", "{tmp}/empty"], "--prefix opt/x: an absolute path"),
    (["--role", "hub"], "give the wheelhouse folder (dist/poh-hub/ of `make package-hub`)"),
    (["--role", "hub", "{tmp}/missing"],
     "wheelhouse {tmp}/missing: no such folder (build it with `make package-hub`)"),
    (["--role", "hub", "{tmp}/empty"],
     "wheelhouse {tmp}/empty: no wheels/, requirements.txt and VERSION in it (give the folder "
     "dist/poh-hub/ of `make package-hub`)"),
    (["--role", "hub", "--python", "/bin/sh", "{tmp}/house"],
     "/bin/sh is not Python 3.11 (not a Python): the hub's wheels are for 3.11 (--python PATH)"),
])
def test_bad_input_is_refused_in_one_line(tmp_path: Path, args: list[str], message: str
                                          ) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "root").mkdir()
    make_wheelhouse(tmp_path / "house")
    argv = [a.format(tmp=tmp_path) for a in args]
    done = subprocess.run(["sh", str(INSTALL), "--root", str(tmp_path / "root"), *argv],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"install.sh: error: {message.format(tmp=tmp_path)}"]
    assert list((tmp_path / "root").iterdir()) == []


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None,
                    reason="needs root to drop to an unprivileged user (setpriv)")
def test_an_unprivileged_install_into_a_folder() -> None:
    """Without root: the same layout and modes, owned by whoever ran it (no chown)."""
    # pytest's own temporary folders are root's 0700: this one must be reachable by nobody
    base = Path(tempfile.mkdtemp(prefix="poh-install-"))
    try:
        base.chmod(0o755)
        root = base / "root"
        root.mkdir()
        bundle = make_bundle(base / "dist" / "poh")
        for p in (root, base / "dist", *base.joinpath("dist").rglob("*")):
            os.lchown(p, 65534, 65534)
        first = install(root, bundle, "--role", "booth", user="65534")
        assert first.returncode == 0, first.stderr
        before = tree(root)
        second = install(root, bundle, "--role", "booth", user="65534")
        assert second.returncode == 0, second.stderr
        assert tree(root) == before
        assert before["var/lib/poh-kiosk"][1:3] == (0o700, 65534)
        assert before["etc/poh-kiosk"][1:3] == (0o750, 65534)
        assert list(passwd(root)) == ["poh-kiosk"]
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_the_installed_units_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify --root`: the installed units parse with no warning, their
    dependencies resolve against this machine's own units (copied into the root) and every
    ExecStart= names an executable of the root (the bundle; a stand-in for cage)."""
    root = tmp_path / "root"
    root.mkdir()
    booth = make_bundle(tmp_path / "booth" / "poh", HUB_POH)
    assert install(root, booth, "--role", "booth").returncode == 0
    done = install(root, make_wheelhouse(tmp_path / "poh-hub"), "--role", "hub")
    assert done.returncode == 0, done.stderr
    system_units = Path("/lib/systemd/system")
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True,
                    dirs_exist_ok=True)
    cage = root / "usr/bin/cage"
    cage.parent.mkdir(parents=True, exist_ok=True)
    cage.write_text("#!/bin/sh\n")
    cage.chmod(0o755)
    units = ["poh-kiosk.service", "poh-sync.service", "poh-hub.service"]
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(units)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no",
                           "--generators=no", *units],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", (
        done.stdout + done.stderr)
    # the hardening does not regress: systemd's own exposure score (0 best, 10 worst; the
    # threshold is in tenths) stays at what these units reach: 2.8 for the drain and the hub,
    # 5.4 for the kiosk (it needs the camera, the display, input devices and W+X memory)
    for unit, most in (("poh-hub.service", 28), ("poh-sync.service", 28),
                       ("poh-kiosk.service", 54)):
        score = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                                f"--root={root}", f"--threshold={most}", unit],
                               capture_output=True, text=True, timeout=120, check=False)
        assert score.returncode == 0, score.stdout.splitlines()[-1:]
    # and a unit with a mistake is not accepted silently (the check can fail)
    bad = root / "etc/systemd/system/poh-hub.service"
    bad.write_text(bad.read_text().replace("ProtectSystem=strict", "ProtectSystem=stric"))
    done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no",
                           "--generators=no", "poh-hub.service"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert "poh-hub.service:" in done.stderr and "stric" in done.stderr, done.stderr


def test_the_program_uses_the_units_folders(tmp_path: Path) -> None:
    """`poh db init` as the unit runs it: no POH_* variable, only the folders systemd made."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home"),
           "STATE_DIRECTORY": str(tmp_path / "var/lib/poh-kiosk"),
           "CACHE_DIRECTORY": str(tmp_path / "var/cache/poh-kiosk"),
           "CONFIGURATION_DIRECTORY": str(tmp_path / "etc/poh-kiosk"),
           "QT_QPA_PLATFORM": "offscreen"}
    for name in ("var/lib/poh-kiosk", "var/cache/poh-kiosk", "etc/poh-kiosk", "home"):
        (tmp_path / name).mkdir(parents=True, mode=0o700)
    (tmp_path / "etc/poh-kiosk/config.json").write_text('{"sync": {"fleet_id": "town"}}\n')
    poh = [sys.executable, "-c", "from app.launcher import main; main()"]
    done = subprocess.run([*poh, "db", "init", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var/lib/poh-kiosk/keys/db.key").is_file()
    assert not any((tmp_path / "home").iterdir())  # nothing in the user's own folders
    assert json.loads(done.stdout)
    # the unit's configuration file is the one read: a bad one is named in the refusal
    (tmp_path / "etc/poh-kiosk/config.json").write_text('{"bogus": 1}\n')
    stats = subprocess.run([*poh, "db", "stats"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, check=False)
    assert stats.returncode == 2
    assert stats.stderr.strip() == (
        f"poh: error: {tmp_path / 'etc/poh-kiosk/config.json'}: bogus: unknown field")
