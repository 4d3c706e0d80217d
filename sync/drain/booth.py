"""Build and run a booth's drain: its link (client id `{device}.verdicts`, the offline status
as last will), from explicit settings or from the booth's fleet membership; and a thread for
the kiosk, woken by its on_verdict hook."""

from __future__ import annotations

import logging
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.drain.drain import DrainSettings, DrainStats, OutboxDrain, StatusFields, booth_status
from sync.fleet.membership import Membership
from sync.transport import BrokerSettings, MqttLink, TlsFiles, Will
from sync.verdict_store import VerdictStore
from sync.wire.topics import status_topic

log = logging.getLogger(__name__)
ROLE = "verdicts"


def make_drain(store: VerdictStore, *, broker_url: str, fleet: str, device_id: str,
               hub_key: Ed25519PublicKey, tls: TlsFiles | None,
               settings: DrainSettings | None = None,
               status_fields: StatusFields | None = None) -> OutboxDrain:
    """A drain with its link (not started). With TLS, the key file is read here.
    `status_fields`: what else the booth's retained status says (its workflow, ...)."""
    broker = BrokerSettings.from_url(broker_url, f"{device_id}.{ROLE}", tls)
    # the will carries the backlog at connect time; later statuses are retained over it
    will = Will(status_topic(fleet, device_id), booth_status(store, "offline", status_fields))
    return OutboxDrain(store, MqttLink(broker, will=will), fleet=fleet, device_id=device_id,
                       hub_key=hub_key, settings=settings, status_fields=status_fields)


def member_drain(store: VerdictStore, membership: Membership, db_key: bytes,
                 settings: DrainSettings | None = None,
                 status_fields: StatusFields | None = None) -> OutboxDrain:
    """The drain of a booth that joined a fleet (`poh fleet join`)."""
    m = membership
    with m.client_key_file(db_key) as key_path:  # exists only while paho loads it
        return make_drain(store, broker_url=m.broker_url, fleet=m.fleet_id,
                          device_id=m.device_id, hub_key=m.hub_key(),
                          tls=TlsFiles(m.ca, m.cert, key_path), settings=settings,
                          status_fields=status_fields)


def run_drain(drain: OutboxDrain, stop: threading.Event, *, until_empty: bool = False
              ) -> DrainStats:
    """Connect, drain, and leave with a retained offline status (the will is not sent on a
    clean disconnect)."""
    drain.link.start()
    try:
        return drain.run(stop, until_empty=until_empty)
    finally:
        drain.link.stop(final=(status_topic(drain.fleet, drain.device_id),
                               drain.status_message("offline")))


class DrainThread:
    """The drain on a thread of its own (the kiosk: `kiosk.on_verdict(lambda _r: t.wake())`)."""

    def __init__(self, drain: OutboxDrain) -> None:
        self.drain = drain
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poh-verdict-drain",
                                        daemon=True)

    def _run(self) -> None:
        try:
            run_drain(self.drain, self._stop)
        except Exception:  # the kiosk keeps serving; the outbox keeps every verdict
            log.exception("verdict drain stopped")

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self.drain.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
