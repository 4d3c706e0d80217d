"""The `sync` section of the kiosk configuration: which fleet this booth's verdicts belong to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The MQTT topic segment poh/v1/{fleet}/...; "default" until the booth joins a fleet.
    fleet_id: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
