"""One of the hub's side loops (fleet templates, review frames) on a thread of `poh hub run`'s
first worker, over an MQTT link of its own. A failure ends that loop only: it is logged, the
verdict ingest keeps running, and booths send what was not acknowledged again."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sync.transport import Communicator

log = logging.getLogger(__name__)


class HubLoop(Protocol):
    link: Communicator

    def run(self, stop: threading.Event) -> None: ...


class HubLoopThread:
    def __init__(self, loop: HubLoop, name: str) -> None:
        self.loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        self.loop.link.start()
        try:
            self.loop.run(self._stop)
        except Exception:
            log.exception("%s stopped", self._thread.name)
        finally:
            self.loop.link.stop()

    def start(self) -> HubLoopThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
