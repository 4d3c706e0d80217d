"""The hub's evidence worker: booths' review frames in (sync.hub.evidence), signed
acknowledgements out, and the retention of what is kept; on a thread of `poh hub run`'s
first worker, with a link of its own (client id PREFIX-evidence, a persistent session, so
frames published while it was down arrive when it is back; a booth also sends them again
until acknowledged).

Only for one fleet whose hub folder holds template.key (the key of the booths' envelopes),
as the template worker."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.fleet.evidence_wire import hub_evidence_filter
from sync.hub.evidence import RETENTION_DAYS, HubEvidence, prune
from sync.hub.loop_thread import HubLoopThread
from sync.transport import (
    BrokerSettings,
    Communicator,
    Connected,
    MqttLink,
    Received,
    Subscribed,
    TlsFiles,
)

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0


class EvidenceHubLoop:
    def __init__(self, link: Communicator, evidence: HubEvidence,
                 retention_days: float = RETENTION_DAYS) -> None:
        self.link = link
        self.evidence = evidence
        self.retention_days = retention_days
        self.handled = 0
        self._next_prune = 0.0

    def step(self) -> None:
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            try:
                prune(self.evidence.engine, self.retention_days)
            except sa.exc.DBAPIError as exc:  # tried again at the next turn
                log.error("evidence retention not applied (%s)", exc.orig)
        ev = self.link.get(0.2)
        if isinstance(ev, Connected):
            self.link.subscribe([(hub_evidence_filter(self.evidence.fleet_id), 1)])
        elif isinstance(ev, Subscribed) and not ev.ok:
            log.error("evidence subscription refused by the broker: %s", ev.granted)
        elif isinstance(ev, Received):
            try:
                out = self.evidence.handle(ev.topic, ev.payload)
            except sa.exc.DBAPIError as exc:  # not acknowledged: the booth sends it again
                log.error("evidence not stored (%s)", exc.orig)
                return
            for topic, payload in out:
                self.link.publish(topic, payload, qos=1)
            self.handled += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()


def start_evidence(broker_url: str, tls: TlsFiles | None, signer: Ed25519PrivateKey,
                   key_dir: Path, fleet: str, engine: sa.Engine, client_id: str = "hub"
                   ) -> HubLoopThread | None:
    """`poh hub run`'s hook; None for a hub of several fleets or without template.key."""
    key_file = key_dir / "template.key"
    if fleet == "+" or not key_file.is_file():
        log.info("no evidence worker (fleet %s, %s)", fleet,
                 "key present" if key_file.is_file() else "no template.key")
        return None
    from sync.hub.template_worker import read_template_key

    evidence = HubEvidence(engine, fleet, read_template_key(key_dir), signer)
    link = MqttLink(BrokerSettings.from_url(broker_url, f"{client_id}-evidence", tls))
    log.info("fleet %s: evidence worker started", fleet)
    return HubLoopThread(EvidenceHubLoop(link, evidence), "hub-evidence").start()
