"""The committed OpenAPI spec (docs/hub-openapi.json): what integrators build against; a test
holds it equal to the app's. Regenerate with `python -m sync.hub.api.openapi_file`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sync.hub.api.app import create_app
from sync.hub.api.context import HubContext

log = logging.getLogger(__name__)
SPEC_PATH = Path(__file__).resolve().parents[3] / "docs" / "hub-openapi.json"


def current_spec() -> dict[str, Any]:
    # the spec does not touch the database: an engine that never connects is enough
    return create_app(HubContext(sa.create_engine("sqlite://"))).openapi()


def spec_text() -> str:
    return json.dumps(current_spec(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SPEC_PATH.parent.mkdir(parents=True, exist_ok=True)
    SPEC_PATH.write_text(spec_text(), encoding="utf-8")
    logging.basicConfig(level=logging.INFO)
    log.info("wrote %s", SPEC_PATH)
