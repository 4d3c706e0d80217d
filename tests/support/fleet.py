"""A small fleet for tests: a TLS broker (throw-away CA, the fleet ACL), a hub worker on a
thread (real link, real database), booth client certificates and the hub's keys."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.lab.broker_process import Mosquitto
from app.lab.fleet_certs import FLEET_ACL, TLS_CONF, TestCA, tls_broker_files
from sync.device_key import public_jwk
from sync.hub.db import open_engine
from sync.hub.ingest import Ingest
from sync.hub.worker import HubStats, HubWorker
from sync.transport import BrokerSettings, MqttLink, TlsFiles


class TestFleet:
    __test__ = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = TestCA()
        self.broker = Mosquitto(folder / "broker", TLS_CONF, tls_broker_files(self.ca, FLEET_ACL))
        self.hub_key = Ed25519PrivateKey.generate()
        self.hub_key_pem = folder / "hub-signing.key"
        self.hub_key_pem.write_bytes(self.hub_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.hub_jwk = folder / "hub.jwk.json"
        import json
        self.hub_jwk.write_text(json.dumps(public_jwk(self.hub_key.public_key(), "hub")))
        self.hub_tls = self.tls("hub")

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.broker.port}"

    def tls(self, cn: str) -> TlsFiles:
        return TlsFiles(*self.ca.write_client(self.folder / "clients" / cn, cn))

    def link(self, cn: str, client_id: str | None = None, **kw: object) -> MqttLink:
        base = BrokerSettings.from_url(self.url, client_id or cn, self.tls(cn))
        return MqttLink(dataclasses.replace(base, **kw))  # type: ignore[arg-type]


class HubThread:
    """A hub worker on a thread, as `poh hub run` runs it (manual acks, shared subscription)."""

    def __init__(self, fleet: TestFleet, db_url: str, index: int = 0) -> None:
        self.engine: sa.Engine = open_engine(db_url)
        base = BrokerSettings.from_url(fleet.url, f"hub-{index}", fleet.hub_tls)
        self.link = MqttLink(dataclasses.replace(base, manual_ack=True, inflight=1000))
        self.worker = HubWorker(self.link, Ingest(self.engine, fleet.hub_key))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.worker.run, args=(self._stop,), daemon=True)

    def __enter__(self) -> HubThread:
        self.link.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.link.stop()
        self.engine.dispose()

    @property
    def stats(self) -> HubStats:
        return self.worker.stats
