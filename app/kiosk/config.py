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

from app.capture.challenge import ChallengeConfig
from app.capture.evidence import EvidenceConfig
from app.errors import BadInputError
from app.paths import models_dir, poh_home
from app.workflows.loader import describe_validation_error
from inference.active.config import ActiveLivenessConfig
from inference.passive.liveness import PassiveLivenessConfig
from inference.pipeline import PipelineConfig
from inference.quality import QualityConfig
from storage.config import StorageConfig
from sync.canonical import strict_object_hook
from sync.config import SyncConfig


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
    active_liveness: ActiveLivenessConfig = Field(default_factory=ActiveLivenessConfig)
    challenge: ChallengeConfig = Field(default_factory=ChallengeConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)

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
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{p}: not readable JSON ({exc})") from exc
    return parse_config(text, str(p))


def parse_config(text: str | bytes, origin: str = "configuration") -> KioskConfig:
    """A configuration document (a file, or one delivered to a running kiosk), strictly read."""
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, _DuplicateKey, RecursionError) as exc:
        raise BadInputError(f"{origin}: not readable JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise BadInputError(f"{origin}: a configuration is a JSON object")
    try:
        return KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise BadInputError(f"{origin}: {describe_validation_error(exc)}") from exc
