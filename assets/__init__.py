"""The data files shipped with the code (workflows, texts, model manifest, calibration, the
virtual-camera list), found through importlib.resources.

Found this way, the files are where the package is: a source tree, an editable or a wheel install,
or a PyInstaller bundle that collected this package and its data. Every layer may import this
module (it imports nothing of the project); nothing may climb from its own file to the folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


class AssetsNotOnDiskError(RuntimeError):
    """The package was loaded from somewhere that is not a folder (a zip archive)."""


def asset_path(*parts: str) -> Path:
    """A file or folder under assets/ as a file-system path, e.g. asset_path("models",
    "manifest.json"); the path need not exist (a caller's read says which file is missing).

    A real path and not a Traversable: callers pass these on the command line, stat() them and
    read them with the same code as an operator's own file; every supported install (wheel,
    editable, source tree, PyInstaller onedir) keeps the package as a folder.
    """
    root = files(__name__)
    if not isinstance(root, Path):
        raise AssetsNotOnDiskError(f"the {__name__} package is not a folder on disk ({root!r}): "
                                   "install the wheel, do not run it from a zip")
    return root.joinpath(*parts)
