"""The committed OpenAPI spec (docs/hub-openapi.json) is the app's spec: an API change shows in
the diff that integrators read."""

from __future__ import annotations

from sync.hub.api.openapi_file import SPEC_PATH, spec_text


def test_committed_spec_equals_the_apps() -> None:
    assert SPEC_PATH.read_text(encoding="utf-8") == spec_text(), (
        "regenerate: python -m sync.hub.api.openapi_file")


def test_spec_names_the_didit_endpoints_and_the_key_header() -> None:
    import json
    spec = json.loads(spec_text())
    assert {"/v3/session/{session_id}/decision/", "/v3/sessions/", "/v3/passive-liveness/"
            } <= set(spec["paths"])
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("name") == "x-api-key" and s.get("in") == "header"
               for s in schemes.values())
