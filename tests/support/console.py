"""Helpers for the review console tests: the hub's app served by uvicorn on a free port with
the webhook dispatcher delivering to a Didit-style receiver, a duplicate across two booths
stored by the hub's real ingest, an HTTP client with a cookie jar (as a browser keeps the
session cookie), and the CSRF token read from a page."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from app.lab.didit_receiver import DiditReceiver
from support.hub_api import Booth, free_port, wait_http
from sync.hub.api.context import HubContext
from sync.hub.api.serve import BackgroundServer, HttpAddress
from sync.hub.console import accounts
from sync.hub.webhooks import admin
from sync.hub.webhooks.dispatcher import Dispatcher, DispatcherThread, RetryPolicy
from sync.reports import FaceMatch
from sync.vocabulary import SessionStatus

PASSWORD = "correct horse battery"
SESSION_A = "5e55a000-0000-4000-8000-00000000000a"
SESSION_B = "5e55b000-0000-4000-8000-00000000000b"


@dataclass
class ConsoleHub:
    engine: sa.Engine
    base: str
    receiver: DiditReceiver


@contextmanager
def console_hub(engine: sa.Engine, evidence_vault: object = None) -> Iterator[ConsoleHub]:
    """The hub's app (API and console) and webhook delivery to a receiver that verifies every
    delivery as a Didit integrator's server does; accounts rita (reviewer), ada (admin).
    `evidence_vault` (sync.hub.evidence.EvidenceVault): the console shows review frames."""
    receiver = DiditReceiver().start()
    receiver.secret = admin.add_endpoint(engine, "integrator", receiver.url)
    accounts.add_operator(engine, "rita", accounts.Role.REVIEWER, PASSWORD)
    accounts.add_operator(engine, "ada", accounts.Role.ADMIN, PASSWORD)
    port = free_port()
    server = BackgroundServer(HubContext(engine, evidence_vault=evidence_vault),
                              HttpAddress("127.0.0.1", port))
    dispatcher = DispatcherThread(Dispatcher(engine, RetryPolicy(first_s=0.2, max_s=1.0)))
    server.start()
    dispatcher.start()
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health")
    try:
        yield ConsoleHub(engine, base, receiver)
    finally:
        dispatcher.stop()
        server.stop()
        receiver.stop()


def duplicate_across_booths(engine: sa.Engine, fleet_booths: tuple[str, str] = (
        "booth-a", "booth-b")) -> None:
    """Booth A approved SESSION_A; booth B's 1:N search found the same person (enrolled by A,
    merged from the fleet) and put SESSION_B In Review."""
    a, b = (Booth(engine, name) for name in fleet_booths)
    a.store(a.verdict(SESSION_A, vendor_data="voter-17"))
    b.store(b.verdict(SESSION_B, SessionStatus.IN_REVIEW, vendor_data="voter-17b",
                      matches=(FaceMatch(session_id=SESSION_A, vendor_data="voter-17",
                                         similarity_score=0.812),)))


class Browserless:
    """An HTTP client that keeps cookies (the console's session) and does not follow
    redirects; answers (status, body text, Location)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, str, str | None]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode(), resp.headers.get("Location")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers.get("Location")

    def get(self, path: str) -> tuple[int, str, str | None]:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str | None]:
        return self.request("POST", path, form)

    def csrf(self, path: str = "/console/queue") -> str:
        status, text, _ = self.get(path)
        assert status == 200, (status, text[:300])
        return csrf_of(text)

    def login(self, name: str, password: str = PASSWORD) -> int:
        token = csrf_of(self.get("/console/login")[1])
        status, _text, _loc = self.post("/console/login", {"name": name, "password": password,
                                                           "csrf": token})
        return status


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m is not None, "no CSRF token in the page"
    return m.group(1)


def write_password(folder: Path, text: str = PASSWORD) -> Path:
    path = folder / "password.txt"
    path.write_text(text + "\n")
    return path
