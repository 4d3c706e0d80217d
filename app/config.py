"""The kiosk configuration: one pydantic root, one section per component (unknown keys refused).

Read from `POH_CONFIG` if set, else `POH_HOME/config.json` if it exists, else the defaults. Paths
(models, data directory) come from app.paths unless the file sets them. No secret belongs here:
keys live in their own files or in environment variables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.capture.evidence import EvidenceConfig
from app.cli.common import BadInputError
from app.paths import models_dir, poh_home
from app.workflows.loader import describe_validation_error
from inference.passive.liveness import PassiveLivenessConfig
from inference.pipeline import PipelineConfig
from inference.quality import QualityConfig
from storage.config import StorageConfig
from sync.canonical import strict_object_hook


class _DuplicateKey(ValueError):
    pass


# json keeps the last of two equal keys: a setting written twice would be half ignored
_no_duplicate_keys = strict_object_hook(lambda key: _DuplicateKey(f"{key}: key appears twice"))


class KioskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inference: PipelineConfig
    quality: QualityConfig = Field(default_factory=QualityConfig)
    passive_liveness: PassiveLivenessConfig = Field(default_factory=PassiveLivenessConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_models_dir(cls, data: Any) -> Any:
        if isinstance(data, dict):
            section = dict(data.get("inference") or {})
            section.setdefault("models_dir", str(models_dir()))
            data = {**data, "inference": section}
        return data


def config_path() -> Path:
    env = os.environ.get("POH_CONFIG")
    return Path(env).expanduser() if env else poh_home() / "config.json"


def load_config(path: Path | None = None) -> KioskConfig:
    """The configuration file if there is one, else the embedded defaults."""
    p = path or config_path()
    if not p.exists():
        if path is not None or "POH_CONFIG" in os.environ:
            raise BadInputError(f"{p}: configuration file not found")
        return KioskConfig.model_validate({})
    try:
        raw = json.loads(p.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, _DuplicateKey) as exc:
        raise BadInputError(f"{p}: not readable JSON ({exc})") from exc
    try:
        return KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise BadInputError(f"{p}: {describe_validation_error(exc)}") from exc
