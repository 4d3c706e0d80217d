"""Schemathesis over the hub's OpenAPI spec against the real server (uvicorn on a free port, a
SQLite hub with stored sessions): every generated request, valid or not, gets a documented
status code and a body that matches the spec, no 500, and no answer without the API key.
A few examples per operation in the default run; many more in the slow run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from support.hub_api import Booth, free_port, wait_http

from sync.hub.api.context import HubContext
from sync.hub.api.keys import Scope, create_key
from sync.hub.api.openapi_file import current_spec
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.db import open_engine
from sync.vocabulary import SessionStatus


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder: Path = tmp_path_factory.mktemp("hub")
    engine = open_engine(f"sqlite:///{folder / 'hub.db'}")
    booth = Booth(engine)
    for i, status in enumerate([SessionStatus.APPROVED, SessionStatus.DECLINED,
                                SessionStatus.IN_REVIEW]):
        booth.store(booth.verdict(f"s-{i}", status))
    key = create_key(engine, "fuzz", frozenset({Scope.ADMIN}))
    port = free_port()
    server = BackgroundServer(HubContext(engine), HttpAddress("127.0.0.1", port))
    server.start()
    wait_http(f"http://127.0.0.1:{port}/health")
    yield f"http://127.0.0.1:{port}", key
    server.stop()
    engine.dispose()


SCHEMA = schemathesis.openapi.from_dict(current_spec())
OPERATIONS = [(path, method) for path, item in current_spec()["paths"].items()
              for method in item]


def _fuzz(served: tuple[str, str], path: str, method: str, examples: int) -> None:
    base, key = served
    operation = SCHEMA[path][method]
    # a file is any bytes to the schema; the API takes only images (400 otherwise, as Didit)
    excluded = [positive_data_acceptance] if path in (
        "/v3/passive-liveness/", "/v3/face-search/") else []

    # schemathesis's pytest plugin does not run under this pytest; its strategies do
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base, headers={"x-api-key": key},
                               excluded_checks=excluded)

    run()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_api_answers_as_its_spec_says(served: tuple[str, str], path: str, method: str) -> None:
    _fuzz(served, path, method, 15)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_api_answers_as_its_spec_says_long(served: tuple[str, str], path: str,
                                           method: str) -> None:
    _fuzz(served, path, method, 400)
