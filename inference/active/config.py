"""The `active_liveness` section of the kiosk configuration: the flash and action thresholds, and
whether the flash lights the screen's two halves differently (`screen_halves`).

Defaults are the values tuned on the simulator's tuning family (docs/accuracy.md, Active
liveness); a deployment that re-tunes on its own booths sets them here instead of in code.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from inference.active.actions import ActionThresholds
from inference.active.flash import FlashThresholds

_FLASH = FlashThresholds()
_ACTIONS = ActionThresholds()


class ActiveLivenessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_fit: float = Field(default=_FLASH.min_fit, ge=0.0, le=1.0)
    max_lag_frames: float = Field(default=_FLASH.max_lag_frames, ge=0.0, le=10.0)
    min_row_fit: float = Field(default=_FLASH.min_row_fit, ge=0.0, le=1.0)
    min_strength: float = Field(default=_FLASH.min_strength, ge=0.0, le=10.0)
    max_tint: float = Field(default=_FLASH.max_tint, ge=0.0, le=10.0)
    min_relief: float = Field(default=_FLASH.min_relief, ge=0.0, le=10.0)
    min_turn_deg: float = Field(default=_ACTIONS.min_turn_deg, ge=0.0, le=90.0)
    min_look_up_deg: float = Field(default=_ACTIONS.min_look_up_deg, ge=0.0, le=90.0)
    min_blink: float = Field(default=_ACTIONS.min_blink, ge=0.0, le=1.0)
    min_smile: float = Field(default=_ACTIONS.min_smile, ge=0.0, le=1.0)
    min_parallax: float = Field(default=_ACTIONS.min_parallax, ge=0.0, le=10.0)
    # Two-sided flash plans (app/capture/plan.py, halves=True): the screen's halves light the
    # face from either side, judged by assets/liveness/flash_sides.json (the check that held
    # across the simulator families, docs/accuracy.md, sixth round); false draws whole-screen
    # plans, judged by the shading model (flash_shape.json), which did not. Strict: a "true" or
    # a 1 in the file is refused, not read as on.
    screen_halves: StrictBool = True

    def flash(self) -> FlashThresholds:
        return FlashThresholds(min_fit=self.min_fit, max_lag_frames=self.max_lag_frames,
                               min_row_fit=self.min_row_fit,
                               min_strength=self.min_strength, max_tint=self.max_tint,
                               min_relief=self.min_relief)

    def actions(self) -> ActionThresholds:
        return ActionThresholds(min_turn_deg=self.min_turn_deg,
                                min_look_up_deg=self.min_look_up_deg, min_blink=self.min_blink,
                                min_smile=self.min_smile, min_parallax=self.min_parallax)
