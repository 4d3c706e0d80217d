"""The model manifest: which registry package carries each model, its checksum and input spec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assets import asset_path

MANIFEST_PATH = asset_path("models", "manifest.json")


@dataclass(frozen=True)
class PackageRef:
    registry: str  # "pypi" or "npm"
    package: str
    version: str


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    source: PackageRef
    member: str
    inner: str | None
    sha256: str
    file: str
    input: dict[str, Any]
    licence: str


def load_manifest(path: Path = MANIFEST_PATH) -> tuple[ModelEntry, ...]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    entries = []
    for m in raw["models"]:
        entries.append(
            ModelEntry(
                name=m["name"],
                role=m["role"],
                source=PackageRef(**m["source"]),
                member=m["member"],
                inner=m.get("inner"),
                sha256=m["sha256"],
                file=m["file"],
                input=m["input"],
                licence=m["licence"],
            )
        )
    return tuple(entries)


def entry(name: str, path: Path = MANIFEST_PATH) -> ModelEntry:
    for e in load_manifest(path):
        if e.name == name:
            return e
    raise KeyError(f"model {name!r} is not in the manifest")
