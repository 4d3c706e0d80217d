"""Storage configuration: where the database, key and index snapshot live, and index tuning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IndexConfig(BaseModel):
    """HNSW parameters and when the exact-search delta is folded into the graph.

    Defaults come from `poh bench index` ("moderate" synthetic gallery, see docs/performance.md): at
    300k x 192, M=16 reached recall@1 0.995 at efSearch 128 and M=32 0.9995 at efSearch 96
    (13% more memory). At 1M with M=32: efSearch 192 gives recall@1 0.9985 at p99 4.7 ms,
    efSearch 256 gives 0.999 at p99 5.7 ms (nmslib wheel without SIMD, 2 shared cores).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    m: int = Field(default=32, ge=4, le=96, description="HNSW graph degree (nmslib M)")
    ef_construction: int = Field(default=100, ge=8, le=2000)
    ef_search: int = Field(default=192, ge=8, le=4000)
    build_threads: int = Field(default=2, ge=1, le=64)
    min_graph_size: int = Field(
        default=2000, ge=0, description="below this many templates search is exact (no graph)"
    )
    rebuild_delta: int = Field(
        default=20000, ge=1, description="fold the delta into the graph once it holds this many"
    )
    rebuild_tombstones: int = Field(
        default=5000, ge=1, description="rebuild once this many erased ids hide inside the graph"
    )


@dataclass(frozen=True)
class StoragePaths:
    """Absolute locations derived from a StorageConfig and the default home (POH_HOME)."""

    home: Path
    db: Path
    key_file: Path
    snapshot_dir: Path


class StorageConfig(BaseModel):
    """Paths are relative to `home` unless absolute; `home` defaults to POH_HOME (given by app)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path | None = None
    db_filename: str = "poh.db"
    key_file: Path | None = Field(
        default=None,
        description="file holding the 256-bit database key (default: HOME/keys/db.key)",
    )
    snapshot_dir: Path | None = Field(
        default=None,
        description="folder of the encrypted face-index snapshots (default: HOME/index)",
    )
    index: IndexConfig = IndexConfig()
    integrity_check: Literal["auto", "open", "background"] = Field(
        default="auto",
        description="authenticate every database page before open returns, or on a thread "
        "after it (fail closed once a bad page is found); auto: at open up to 256 MB",
    )

    def paths(self, default_home: Path) -> StoragePaths:
        home = (self.home or default_home).expanduser().absolute()

        def under_home(p: Path | None, default: Path) -> Path:
            if p is None:
                return home / default
            p = p.expanduser()
            return p if p.is_absolute() else home / p

        return StoragePaths(
            home=home,
            db=home / self.db_filename,
            key_file=under_home(self.key_file, Path("keys") / "db.key"),
            snapshot_dir=under_home(self.snapshot_dir, Path("index")),
        )
