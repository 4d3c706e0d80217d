"""Serve the hub's app under uvicorn: in the foreground (`poh hub serve`) or on a thread beside
the ingest workers (`poh hub run --http`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import uvicorn

from sync.hub.api.app import create_app
from sync.hub.api.context import HubContext
from sync.hub.api.errors import HubInputError

log = logging.getLogger(__name__)


class HttpAddressError(HubInputError):
    """A --http value that is not HOST:PORT; str() is one line."""


@dataclass(frozen=True)
class HttpAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HttpAddress:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise HttpAddressError(f"--http {text!r}: give HOST:PORT, e.g. 127.0.0.1:8080")
        return cls(host.strip("[]"), int(port))


def make_server(ctx: HubContext, address: HttpAddress) -> uvicorn.Server:
    config = uvicorn.Config(create_app(ctx), host=address.host, port=address.port,
                            log_level="warning", access_log=False, server_header=False,
                            lifespan="off")
    return uvicorn.Server(config)


class BackgroundServer:
    """uvicorn on its own thread (it installs no signal handlers off the main thread)."""

    def __init__(self, ctx: HubContext, address: HttpAddress) -> None:
        self.server = make_server(ctx, address)
        self.thread = threading.Thread(target=self.server.run, name="hub-http", daemon=True)

    def start(self) -> None:
        self.thread.start()
        log.info("hub HTTP API on %s:%d", self.server.config.host, self.server.config.port)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
