"""The hub's template worker: one process per fleet holds the fleet index and the delta log
(sequence numbers must be handed out by one writer, and the index lives in its memory).

It reads booth reports on poh/v1/{fleet}/+/templates (a plain subscription, not the shared
verdict group) and its own deltas on poh/v1/{fleet}/templates (an erasure made by another hub
process, `poh hub fleet forget`, reaches its index that way), and publishes what FleetTemplates
answers. Nothing is lost when it dies: a booth re-sends an enrolment until the hub's delta
names it, and reports its cursor until it has every delta.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from sync.hub.loop_thread import HubLoopThread
from sync.hub.templates import FleetTemplates, Outgoing
from sync.transport import (
    BrokerSettings,
    Communicator,
    Connected,
    ConnectFailed,
    Disconnected,
    MqttLink,
    Received,
    TlsFiles,
)

log = logging.getLogger(__name__)


def template_link(broker_url: str, hub_dir: Path | None, client_id: str = "hub-templates"
                  ) -> MqttLink:
    tls = (TlsFiles(hub_dir / "ca.crt", hub_dir / "hub.crt", hub_dir / "hub.key")
           if hub_dir is not None else None)
    return MqttLink(BrokerSettings.from_url(broker_url, client_id, tls))


def read_template_key(hub_dir: Path) -> bytes:
    key = bytes.fromhex((hub_dir / "template.key").read_text(encoding="ascii").strip())
    if len(key) != 32:
        raise ValueError(f"{hub_dir}/template.key is not a 256-bit key")
    return key


class TemplateHubLoop:
    def __init__(self, link: Communicator, templates: FleetTemplates,
                 tasks: Callable[[], list[Outgoing]] | None = None) -> None:
        self.link = link
        self.templates = templates
        # work asked for in the database (sync.hub.console.erasure_runner), done here because
        # this loop is the delta log's one writer
        self.tasks = tasks
        self.handled = 0
        self._connected = False

    def step(self) -> None:
        ev = self.link.get(0.2)
        if isinstance(ev, Disconnected | ConnectFailed):
            self._connected = False
        if self.tasks is not None and self._connected:
            try:
                for topic, payload in self.tasks():
                    self.link.publish(topic, payload, qos=1)
            except sa.exc.DBAPIError as exc:  # asked for again at the next turn
                log.error("fleet task not done (%s)", exc.orig)
        if isinstance(ev, Connected):
            self._connected = True
            self.link.subscribe([*self.templates.subscriptions(),
                                 (self.templates.shared_topic, 1)])
        elif isinstance(ev, Received):
            if ev.topic == self.templates.shared_topic:
                self.templates.observe(ev.topic, ev.payload)
                return
            try:
                out = self.templates.handle(ev.topic, ev.payload)
            except sa.exc.DBAPIError as exc:
                # not acknowledged to the booth: it sends the same report again later
                log.error("fleet template report not stored (%s)", exc.orig)
                return
            for topic, payload in out:
                self.link.publish(topic, payload, qos=1)
            self.handled += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()


class TemplateHubThread(HubLoopThread):
    """The template worker on a thread of `poh hub run`'s first worker process."""

    def __init__(self, link: MqttLink, templates: FleetTemplates,
                 tasks: Callable[[], list[Outgoing]] | None = None) -> None:
        super().__init__(TemplateHubLoop(link, templates, tasks), "hub-templates")


def start_for_hub(broker_url: str, tls: TlsFiles | None, signing_key: Path, fleet: str,
                  engine: sa.Engine, review_threshold: float = 0.53
                  ) -> TemplateHubThread | None:
    """`poh hub run`'s hook: the template worker of one fleet, when the hub folder holds the
    fleet template key (FLEET_DIR/hub/template.key beside signing.key); None otherwise (a hub
    of several fleets ("+"), or one without the key, ingests verdicts only)."""
    key_file = signing_key.parent / "template.key"
    if fleet == "+" or not key_file.is_file():
        log.info("no fleet template worker (fleet %s, %s)", fleet,
                 "key present" if key_file.is_file() else "no template.key")
        return None
    from sync.hub.service import load_signing_key

    templates = FleetTemplates(engine, fleet, read_template_key(signing_key.parent),
                               load_signing_key(signing_key), review_threshold)
    link = MqttLink(BrokerSettings.from_url(broker_url, "hub-templates", tls))
    from sync.hub.console.erasure_runner import ErasureRunner

    thread = TemplateHubThread(link, templates, ErasureRunner(engine, templates).due)
    thread.start()
    log.info("fleet %s: template worker started (%d templates)", fleet, len(templates.index))
    return thread
