"""The kiosk configuration: one pydantic root, one section per component (unknown keys refused).

Read from `POH_CONFIG` if set, else `config.json` in app.paths.config_dir() (systemd's
CONFIGURATION_DIRECTORY, else POH_HOME) if it exists, else the defaults. Paths
(models, data directory) come from app.paths unless the file sets them. No secret belongs here:
keys live in their own files or in environment variables, and the operator PIN only as a salted
scrypt hash (`poh operator set-pin` makes the file 0600).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.capture.challenge import ChallengeConfig
from app.capture.evidence import EvidenceConfig
from app.errors import BadInputError
from app.kiosk.operator import OperatorConfig
from app.paths import config_dir, models_dir
from app.workflows.loader import describe_validation_error
from inference.active.config import ActiveLivenessConfig
from inference.passive.liveness import PassiveLivenessConfig
from inference.pipeline import PipelineConfig
from inference.quality import QualityConfig
from storage.config import StorageConfig
from sync.config import SyncConfig
from sync.strict_json import (
    MAX_SAFE_INTEGER,
    InputError,
    existing_path,
    parse_json,
    read_input_file,
)

MAX_BYTES = 1_000_000
MAX_DEPTH = 16  # the deepest section (storage.index) is three levels down


def _out_of_range(value: Any, where: str) -> str | None:
    """The first number of a validated section that no component can use: not finite, or an
    integer beyond 2**53 - 1 (pydantic turns a whole float like 1e300 into an int)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            bad = _out_of_range(getattr(value, name), f"{where}.{name}" if where else name)
            if bad:
                return bad
    elif isinstance(value, bool):
        return None
    elif isinstance(value, float) and not math.isfinite(value):
        return f"{where}: must be a finite number"
    elif isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"{where}: must be at most {MAX_SAFE_INTEGER} in magnitude"
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            bad = _out_of_range(item, f"{where}.{i}")
            if bad:
                return bad
    return None


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
    operator: OperatorConfig = Field(default_factory=OperatorConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_models_dir(cls, data: Any) -> Any:
        if isinstance(data, dict):
            section = dict(data.get("inference") or {})
            section.setdefault("models_dir", str(models_dir()))
            data = {**data, "inference": section}
        return data

    @model_validator(mode="after")
    def _finite_and_bounded(self) -> KioskConfig:
        # every section, including those a component defines without an upper bound
        bad = _out_of_range(self, "")
        if bad:
            raise ValueError(bad)
        return self


def config_path() -> Path:
    env = os.environ.get("POH_CONFIG")
    return Path(env).expanduser() if env else config_dir() / "config.json"


def load_config(path: Path | None = None) -> KioskConfig:
    """The configuration file if there is one, else the embedded defaults."""
    p = path or config_path()
    if existing_path(str(p)) is None:
        if path is not None or "POH_CONFIG" in os.environ:
            raise BadInputError(f"{p}: configuration file not found")
        return KioskConfig.model_validate({})
    try:
        raw = read_input_file(p, max_bytes=MAX_BYTES)  # a folder or a FIFO is refused unread
    except InputError as exc:
        raise BadInputError(str(exc)) from exc
    return parse_config(raw, str(p))


def parse_config(text: str | bytes, origin: str = "configuration") -> KioskConfig:
    """A configuration document (a file, or one delivered to a running kiosk), strictly read."""
    try:
        # the one strict reader: a setting written twice, NaN, 1e400, a 2**53+ integer or a
        # document nested thousands deep is refused here, in one line
        raw = parse_json(text, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)
    except InputError as exc:
        raise BadInputError(f"{origin}: not readable JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise BadInputError(f"{origin}: a configuration is a JSON object")
    try:
        return KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise BadInputError(f"{origin}: {describe_validation_error(exc)}") from exc
