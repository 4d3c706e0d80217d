"""Responses of the hub's own endpoints (the Didit-shaped ones are in decision.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok"]
