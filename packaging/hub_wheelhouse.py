"""The hub's wheelhouse (`make package-hub`): everything a hub host needs to install the hub
offline with its own python3.11 (packaging/install.sh --role hub).

    python packaging/hub_wheelhouse.py [--lock requirements/hub.txt] [--out dist/poh-hub]

The folder it makes:

    wheels/            the project's wheel and one wheel of every package the lock pins
    requirements.txt   NAME==VERSION --hash=sha256:... for every file in wheels/, nothing else
    manifest.json      version, commit, lock, and size and sha256 of every wheel
    VERSION            one line: poh-kiosk VERSION hub wheelhouse, commit, interpreter tag

The project's wheel is built from the committed tree (`git archive HEAD`, as the wheel test
does), so nothing uncommitted or ignored leaks in; its files carry the commit's time, and so
does SOURCE_DATE_EPOCH, so the same commit gives the same wheel, byte for byte, and the same
requirements.txt: install.sh names the venv after that file's hash, and a rebuild of the same
commit installs nothing new. The dependencies are downloaded by pip with --require-hashes from
the lock (wheels only: a pin without a wheel for this platform fails the build).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KIND = "poh-hub-wheelhouse"
# a wheel's file name: distribution-version(-build)?-python-abi-platform.whl (PEP 427)
WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"hub_wheelhouse: {' '.join(cmd[:4])}... failed:\n{done.stdout}{done.stderr}")
    return done


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def committed_tree(dest: Path) -> tuple[str, int, bool]:
    """HEAD's files in dest; the commit, its time, and whether the working tree differs."""
    raw = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO,
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        tf.extractall(dest, filter="data")
    commit = run(["git", "rev-parse", "HEAD"], cwd=REPO).stdout.strip()
    when = int(run(["git", "show", "-s", "--format=%ct", "HEAD"], cwd=REPO).stdout.strip())
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"],
                     cwd=REPO).stdout.strip())
    return commit, when, dirty


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build(lock: Path, out: Path) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="poh-hub-", dir=out.parent))
    try:
        src, wheels = work / "src", work / "poh-hub" / "wheels"
        wheels.mkdir(parents=True)
        commit, when, dirty = committed_tree(src)
        env = os.environ | {"SOURCE_DATE_EPOCH": str(when)}
        # this venv's (the lock's) setuptools, no index: nothing is downloaded to build it
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-index", "-w", str(wheels), str(src)], cwd=work, env=env)
        (project,) = wheels.glob("poh_kiosk-*.whl")
        run([sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes", "--no-deps",
             "--only-binary=:all:", "-r", str(lock), "-d", str(wheels)], cwd=work)
        pins = {canonical(m.group(1)): m.group(2) for m in
                re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text(), re.M)}
        lines, listed = [], {}
        for whl in sorted(wheels.glob("*.whl")):
            match = WHEEL_NAME.match(whl.name)
            if match is None:
                sys.exit(f"hub_wheelhouse: {whl.name}: not a wheel's file name")
            name, version = canonical(match["name"]), match["version"]
            if whl != project and pins.get(name) != version:
                sys.exit(f"hub_wheelhouse: {whl.name} is not a pin of {lock}")
            digest = sha256(whl)
            lines.append(f"{name}=={version} --hash=sha256:{digest}\n")
            listed[whl.name] = {"sha256": digest, "bytes": whl.stat().st_size}
        missing = set(pins) - {canonical(WHEEL_NAME.match(n)["name"])  # type: ignore[index]
                               for n in listed}
        if missing:
            sys.exit(f"hub_wheelhouse: no wheel downloaded for {sorted(missing)}")
        house = work / "poh-hub"
        (house / "requirements.txt").write_text(
            "# the hub's wheelhouse: packaging/install.sh --role hub installs exactly these\n"
            "# (pip --no-index --find-links wheels --require-hashes)\n" + "".join(lines))
        version = WHEEL_NAME.match(project.name)["version"]  # type: ignore[index]
        tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
        manifest = {"kind": KIND, "project": "poh-kiosk", "version": version, "commit": commit,
                    "uncommitted_changes_left_out": dirty, "python": tag,
                    "lock": str(lock.relative_to(REPO)) if lock.is_relative_to(REPO) else str(lock),
                    "lock_sha256": sha256(lock),
                    "requirements_sha256": sha256(house / "requirements.txt"),
                    "wheels": listed}
        (house / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (house / "VERSION").write_text(
            f"poh-kiosk {version} hub wheelhouse, commit {commit[:12]}, python {tag}\n")
        # the new folder replaces the old one in two renames
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        house.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=REPO / "requirements" / "hub.txt")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "poh-hub")
    args = parser.parse_args()
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = build(args.lock.resolve(), out)
    wheels = manifest["wheels"]
    assert isinstance(wheels, dict)
    total = sum(w["bytes"] for w in wheels.values())
    note = " (uncommitted changes are not in it: commit first)" \
        if manifest["uncommitted_changes_left_out"] else ""
    sys.stdout.write(f"{out}: poh-kiosk {manifest['version']} at "
                     f"{str(manifest['commit'])[:12]}{note}, {len(wheels)} wheels, "
                     f"{total / 2**20:.1f} MiB\n")


if __name__ == "__main__":
    main()
