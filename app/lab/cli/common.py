"""Lab CLI plumbing: where the lab's simulated faces live."""

from __future__ import annotations

from pathlib import Path

from app.errors import BadInputError


def face_scan_folder() -> Path:
    """The 3D face scan the active-liveness simulator renders; bad input if not fetched."""
    from app.lab.datasets import face3d_dir
    from app.paths import data_dir

    folder = face3d_dir(data_dir())
    if not (folder / "james.obj").is_file():
        raise BadInputError(f"no 3D face scan in {folder}: run `poh-lab data fetch`")
    return folder
