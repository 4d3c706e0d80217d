"""A Didit-style webhook receiver, written the way an integrator writes one from Didit's
documentation (independently of the hub's signing code): a real HTTP server that checks every
delivery's X-Signature (HMAC-SHA256 of the raw body), X-Signature-V2 (of the body parsed and
re-serialised: sorted keys, compact, UTF-8 unescaped, whole floats as integers, as
JSON.stringify(sortKeys(shortenFloats(JSON.parse(body)))) does), X-Signature-Simple (of
"timestamp:session_id:status:webhook_type") and X-Timestamp (within 5 minutes), answers 200
only when all four hold (401 otherwise), and keeps what it received. `down()` makes it answer
503 (a receiver that is down behind its proxy); `stop()` closes its socket."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

TOLERANCE_S = 300


def _sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sort_keys(v) for v in value]
    return value


def _integral_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    return int(value) if isinstance(value, float) and value == int(value) else value


def _hmac(secret: str, msg: bytes) -> str:
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Check:
    signature: bool
    signature_v2: bool
    signature_simple: bool
    timestamp_fresh: bool

    @property
    def ok(self) -> bool:
        return self.signature and self.signature_v2 and self.signature_simple and \
            self.timestamp_fresh


def verify(secret: str, raw: bytes, headers: dict[str, str], now: float | None = None) -> Check:
    """Didit's three signatures and the timestamp, as its docs tell an integrator to check."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        doc = json.loads(raw)
    except ValueError:
        return Check(False, False, False, False)
    ts = h.get("x-timestamp", "")
    v2 = json.dumps(_sort_keys(_integral_floats(doc)), separators=(",", ":"),
                    ensure_ascii=False).encode()
    simple = f"{ts}:{doc.get('session_id', '')}:{doc.get('status', '')}:" \
             f"{doc.get('webhook_type', '')}".encode()
    fresh = ts.isdigit() and abs((now or time.time()) - int(ts)) <= TOLERANCE_S
    return Check(
        hmac.compare_digest(_hmac(secret, raw), h.get("x-signature", "")),
        hmac.compare_digest(_hmac(secret, v2), h.get("x-signature-v2", "")),
        hmac.compare_digest(_hmac(secret, simple), h.get("x-signature-simple", "")),
        fresh)


@dataclass
class Received:
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    check: Check


@dataclass
class DiditReceiver:
    secret: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    answered_down: int = 0
    _down: bool = False
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/webhooks/didit"

    def start(self) -> DiditReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                code = receiver._take(raw, dict(self.headers.items()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("receiver: %s", format % args)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="didit-receiver",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self, is_down: bool = True) -> None:
        with self._lock:
            self._down = is_down

    def _take(self, raw: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            if self._down:
                self.answered_down += 1
                return 503
            check = verify(self.secret, raw, headers)
            if not check.ok:
                self.refused += 1
                log.warning("receiver refused a delivery: %s", check)
                return 401
            self.received.append(Received(json.loads(raw), raw, headers, check))
            self._arrived.notify_all()
            return 200

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """Block until `count` verified deliveries arrived (or the timeout passed)."""
        with self._lock:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)
