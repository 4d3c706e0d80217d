"""The loop that carries a booth's template sync over a link (sync.transport).

On every connection: subscribe, publish the pending registration (retained) first, then the
booth's report. Then: merge what arrives; report the cursor after merging (the hub's
confirmation of erasures, and its cue to send what follows); publish new enrolments and
erasures as they appear, re-sending unacknowledged ones after `resend_after` seconds (the hub
de-duplicates by entry id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sync.template_sync import BoothTemplateSync, MergeReport
from sync.transport import Communicator, Connected, Published, Received

log = logging.getLogger(__name__)


class TemplateSyncLoop:
    def __init__(self, link: Communicator, sync: BoothTemplateSync, *, poll: float = 0.5,
                 resend_after: float = 15.0,
                 on_merge: Callable[[MergeReport], None] | None = None) -> None:
        self.link = link
        self.sync = sync
        self.poll = poll
        self.resend_after = resend_after
        self.on_merge = on_merge
        self.connected = threading.Event()
        self._registration: dict[int, bytes] = {}
        self._last: tuple[tuple[Any, ...], float] | None = None  # what was last reported, and when

    def _report(self, force: bool) -> None:
        (topic, payload, retain), what = self.sync.sync_message()
        pending = bool(what[1] or what[2])
        now = time.monotonic()
        if not force and self._last is not None and self._last[0] == what and (
                not pending or now - self._last[1] < self.resend_after):
            return
        self.link.publish(topic, payload, qos=1, retain=retain)
        self._last = (what, now)

    def step(self) -> None:
        event = self.link.get(timeout=self.poll)
        if isinstance(event, Connected):
            self.connected.set()
            self.link.subscribe(self.sync.subscriptions())
            reg = self.sync.registration()
            if reg is not None:
                self._registration[self.link.publish(reg[0], reg[1], qos=1,
                                                     retain=reg[2])] = reg[1]
            self._report(force=True)
        elif isinstance(event, Published) and event.mid in self._registration:
            payload = self._registration.pop(event.mid)
            if event.ok:
                self.sync.registration_done(payload)
            else:
                log.warning("the broker refused this booth's registration: %s", event.reason)
        elif isinstance(event, Received):
            try:
                report = self.sync.handle(event.topic, event.payload)
            except Exception:  # the cursor did not move: the hub sends it again
                log.exception("merging a fleet message failed; it is asked for again")
                report = MergeReport(gap=True)
            if self.on_merge is not None:
                self.on_merge(report)
            if report.gap or report.applied:
                self._report(force=True)
        if self.connected.is_set():
            self._report(force=False)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
