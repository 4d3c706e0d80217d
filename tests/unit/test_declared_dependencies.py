"""pyproject.toml declares what the code uses: every third-party import has a declared distribution
in the right group (the product's own dependencies, `ui` for the kiosk screen, `lab` for poh-lab,
any group for the tests), and every declared dependency is imported somewhere or named below with
the reason it is not. Import names are mapped to distributions by the installed metadata.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"app", "assets", "inference", "storage", "sync", "tests"}
# declared but never imported by name, and why
LOADED_BY_NAME = {
    "psycopg": "the PostgreSQL driver SQLAlchemy loads for postgresql+psycopg:// URLs",
    "python-multipart": "Starlette parses the hub's multipart uploads with it",
    "setuptools": "the build backend, in the venv for --no-build-isolation; menpo3d's setup.py",
    "ruff": "a linter run as a command",
    "mypy": "a type checker run as a command",
    "import-linter": "the import contracts, run as lint-imports",
    "pytest-qt": "a pytest plugin (the qtbot fixture)",
    "pyinstaller": "the bundle's builder, run as a command on packaging/poh.spec",
    "pyinstaller-hooks-contrib": "PyInstaller's hooks for third-party packages",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {group: {_norm(re.split(r"[\[=<>!~; ]", req, maxsplit=1)[0]) for req in reqs}
            for group, reqs in groups.items()}


@cache
def _all_imports() -> tuple[tuple[str, str, str], ...]:
    """(top folder, file relative to the repository, imported top-level name) for each import."""
    roots = ("app", "assets", "inference", "storage", "sync", "tests")
    return tuple((root, path.relative_to(REPO).as_posix(), top)
                 for root in roots for path, top in _imports(REPO / root))


def _imports(folder: Path) -> Iterator[tuple[Path, str]]:
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY | {"__future__"}:
                    yield path, top


@cache
def _local_test_modules() -> frozenset[str]:
    # tests import their helpers by their own name (each folder on sys.path)
    tests = REPO / "tests"
    return frozenset(p.stem for p in tests.rglob("*.py")) | frozenset(
        p.name for p in tests.rglob("*") if p.is_dir())


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def _distributions(top: str) -> set[str]:
    # a package not installed here (PyInstaller outside `make package`) goes by its own name
    return {_norm(d) for d in _packages_distributions().get(top, [])} or {_norm(top)}


def test_every_import_has_a_declared_distribution_in_its_group() -> None:
    declared = _declared()
    product = declared[""] | declared["ui"]
    allowed = {"app/lab": product | declared["lab"], "tests": set().union(*declared.values())}
    missing = []
    for root, rel, top in _all_imports():
        group = next((allowed[k] for k in allowed if rel.startswith(k + "/")), product)
        dists = _distributions(top)
        if root == "tests" and top in _local_test_modules():
            continue
        if not dists & group:
            missing.append(f"{rel}: {top} ({', '.join(sorted(dists))})")
    assert not missing, "declare these in pyproject.toml:\n" + "\n".join(sorted(set(missing)))


def test_every_declared_dependency_is_imported_or_loaded_by_name() -> None:
    imported: set[str] = set()
    for _, _, top in _all_imports():
        imported |= _distributions(top)
    unused = set().union(*_declared().values()) - imported - set(LOADED_BY_NAME)
    assert not unused, f"declared, never imported: {sorted(unused)}"
