"""A booth's MQTT link to its fleet's broker (sync.transport), and the registration publish.

The TLS client key is decrypted into a memory file only while paho builds its TLS context
(sync.fleet.membership). The client id is the device id plus a role suffix, so that the
verdict drain and the template sync of one booth can hold their own sessions side by side; the
broker's ACL goes by the certificate's name, not the client id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sync.fleet.membership import Membership
from sync.transport import BrokerSettings, MqttLink, Published, TlsFiles

log = logging.getLogger(__name__)


def link_for(membership: Membership, db_key: bytes, role: str) -> MqttLink:
    """A link (not started) authenticated with the booth's certificate."""
    with membership.client_key_file(db_key) as key_path:
        tls = TlsFiles(ca=membership.ca, cert=membership.cert, key=key_path)
        settings = BrokerSettings.from_url(membership.broker_url,
                                           f"{membership.device_id}.{role}", tls)
        return MqttLink(settings)  # paho reads the key here, while the memory file exists


@contextmanager
def running_link(membership: Membership, db_key: bytes, role: str) -> Iterator[MqttLink]:
    link = link_for(membership, db_key, role)
    link.start()
    try:
        yield link
    finally:
        link.stop()


def publish_and_wait(link: MqttLink, topic: str, payload: bytes, *, retain: bool,
                     timeout: float) -> bool:
    """Publish QoS 1 and wait for the broker's PUBACK; False on a refusal or a timeout.
    Other events that arrive meanwhile are dropped (use on a link of its own)."""
    deadline = time.monotonic() + timeout
    if not link.wait_connected(timeout):
        return False
    mid = link.publish(topic, payload, qos=1, retain=retain)
    while (left := deadline - time.monotonic()) > 0:
        event = link.get(timeout=left)
        if isinstance(event, Published) and event.mid == mid:
            if not event.ok:
                log.warning("broker refused the publish to %s: %s", topic, event.reason)
            return event.ok
    return False
