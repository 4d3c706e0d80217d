"""MQTT transport: the only package that imports paho (import-linter enforces it).

`MqttLink` is a thin adapter over paho-mqtt 2.2 (callback API VERSION2, MQTT 5, TLS with a client
certificate, persistent session with an expiry). Its callbacks only put events on a queue; the
owner (the booth's drain, a hub worker) runs all logic on its own thread.
"""

from sync.transport.base import Communicator
from sync.transport.events import (
    Connected,
    ConnectFailed,
    Disconnected,
    LinkEvent,
    Published,
    Received,
    Subscribed,
)
from sync.transport.mqtt import MqttLink
from sync.transport.settings import Backoff, BrokerSettings, TlsFiles, Will

__all__ = [
    "Backoff",
    "BrokerSettings",
    "Communicator",
    "ConnectFailed",
    "Connected",
    "Disconnected",
    "LinkEvent",
    "MqttLink",
    "Published",
    "Received",
    "Subscribed",
    "TlsFiles",
    "Will",
]
