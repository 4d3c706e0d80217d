"""Run hub workers: each one a link (client id hub-N, manual acks, persistent session), an
engine and an Ingest; `--workers N` starts N processes sharing the subscription group."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.hub.console.ops_worker import start_ops
from sync.hub.db import open_engine
from sync.hub.evidence_worker import start_evidence
from sync.hub.ingest import Ingest
from sync.hub.live_state import LiveState
from sync.hub.template_worker import start_for_hub
from sync.hub.worker import HubStats, HubWorker
from sync.transport import BrokerSettings, MqttLink, TlsFiles

log = logging.getLogger(__name__)


class HubConfigError(ValueError):
    """A hub option that cannot be used; str() is one line."""


@dataclass(frozen=True)
class HubRun:
    broker_url: str
    db_url: str
    signing_key: Path  # PEM, PKCS#8 Ed25519 (FLEET_DIR/hub/signing.key)
    fleet: str = "+"
    tls: TlsFiles | None = None
    client_id: str = "hub"
    batch: int = 500


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except OSError as exc:
        raise HubConfigError(f"hub signing key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise HubConfigError(f"hub signing key {path}: not an unencrypted PEM key ({exc})"
                             ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise HubConfigError(f"hub signing key {path}: not an Ed25519 key")
    return key


def worker_link(cfg: HubRun, index: int) -> MqttLink:
    base = BrokerSettings.from_url(cfg.broker_url, f"{cfg.client_id}-{index}", cfg.tls)
    # a large window: the broker may send this many verdicts before the hub's manual PUBACKs
    return MqttLink(dataclasses.replace(base, manual_ack=True, inflight=1000))


def run_worker(cfg: HubRun, index: int, stop: threading.Event | None = None,
               live: LiveState | None = None) -> HubStats:
    """One worker until SIGTERM/SIGINT (or `stop`); `live` is what /health and /metrics
    read (the counters shared by every worker process)."""
    stop = stop or threading.Event()
    key = load_signing_key(cfg.signing_key)
    engine = open_engine(cfg.db_url)
    link = worker_link(cfg, index)
    if threading.current_thread() is threading.main_thread():
        def _stop(_sig: int, _frame: FrameType | None) -> None:
            stop.set()
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    link.start()
    log.info("hub worker %d: broker %s, database %s", index, cfg.broker_url,
             engine.url.render_as_string(hide_password=True))
    # fleet-wide uniqueness: one template worker per fleet, beside worker 0
    templates = (start_for_hub(cfg.broker_url, cfg.tls, cfg.signing_key, cfg.fleet, engine)
                 if index == 0 else None)
    # booth statuses in, reviewers' decisions and workflows out (sync.hub.console.ops_worker)
    ops = (start_ops(cfg.broker_url, cfg.tls, key, cfg.fleet, engine, cfg.client_id)
           if index == 0 else None)
    # booths' review frames of sessions In Review (sync.hub.evidence_worker)
    evidence = (start_evidence(cfg.broker_url, cfg.tls, key, cfg.signing_key.parent,
                               cfg.fleet, engine, cfg.client_id) if index == 0 else None)
    try:
        return HubWorker(link, Ingest(engine, key), fleet=cfg.fleet, batch=cfg.batch,
                         live=live, index=index).run(stop)
    finally:
        if evidence is not None:
            evidence.stop()
        if ops is not None:
            ops.stop()
        if templates is not None:
            templates.stop()
        link.stop()
        engine.dispose()


def _child(cfg: HubRun, index: int, live: LiveState | None) -> None:
    run_worker(cfg, index, live=live)


def run_workers(cfg: HubRun, workers: int, live: LiveState | None = None) -> None:
    """Worker 0 here, the others as child processes; a stop signal stops them all."""
    load_signing_key(cfg.signing_key)  # a bad key fails once, here, before any process starts
    open_engine(cfg.db_url).dispose()  # the tables exist before the workers race for them
    ctx = mp.get_context("spawn")
    children = [ctx.Process(target=_child, args=(cfg, i, live), name=f"hub-worker-{i}")
                for i in range(1, workers)]
    for c in children:
        c.start()
    try:
        run_worker(cfg, 0, live=live)
    finally:
        for c in children:
            if c.pid is not None and c.is_alive():
                c.terminate()
        for c in children:
            c.join(30)
