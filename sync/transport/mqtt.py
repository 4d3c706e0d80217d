"""paho-mqtt 2.2 behind `Communicator`: MQTT 5, TLS client certificate, persistent session.

The network loop runs on the link's own thread (not paho's loop_start) so that reconnecting
waits with jitter (`Backoff`) instead of paho's fixed doubling. Every paho callback only puts an
event on the queue; paho keeps its session in memory only, so the owner must treat a restart as
"everything unacknowledged is lost" and re-send from its durable store.
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sync.transport.base import Communicator
from sync.transport.events import (
    Connected,
    ConnectFailed,
    Disconnected,
    Published,
    Received,
    Subscribed,
)
from sync.transport.settings import BrokerSettings, Will

log = logging.getLogger(__name__)


class MqttLink(Communicator):
    def __init__(self, settings: BrokerSettings, will: Will | None = None) -> None:
        super().__init__()
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                        client_id=settings.client_id, protocol=MQTTProtocolVersion.MQTTv5,
                        manual_ack=settings.manual_ack)
        c.max_inflight_messages_set(settings.inflight)
        c.max_queued_messages_set(0)  # unbounded in memory: the owner bounds its own window
        if settings.tls is not None:
            t = settings.tls
            c.tls_set(ca_certs=str(t.ca), certfile=str(t.cert) if t.cert else None,
                      keyfile=str(t.key) if t.key else None, cert_reqs=ssl.CERT_REQUIRED,
                      tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will is not None:
            c.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        # With a write-registration callback set, paho's publish() from the owner's thread only
        # queues the packet and wakes loop()'s select through its socket pair; otherwise (no
        # loop_start thread) it would write to the TLS socket from the owner's thread while the
        # network thread reads it. The network thread writes whatever is queued.
        c.on_socket_register_write = self._on_register_write
        self._client = c

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # ---- paho callbacks (network thread): enqueue only ---------------------------------------
    def _on_connect(self, _c: paho.Client, _u: Any, flags: paho.ConnectFlags,
                    reason: ReasonCode, _p: Properties | None) -> None:
        if reason.is_failure:
            self.events.put(ConnectFailed(str(reason)))
            return
        self._connected.set()
        self.events.put(Connected(session_present=bool(flags.session_present)))

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: paho.DisconnectFlags,
                       reason: ReasonCode, _p: Properties | None) -> None:
        self._connected.clear()
        self.events.put(Disconnected(str(reason)))

    def _on_publish(self, _c: paho.Client, _u: Any, mid: int, reason: ReasonCode,
                    _p: Properties) -> None:
        self.events.put(Published(mid=mid, ok=not reason.is_failure, reason=str(reason)))

    def _on_subscribe(self, _c: paho.Client, _u: Any, mid: int, reasons: list[ReasonCode],
                      _p: Properties) -> None:
        self.events.put(Subscribed(mid=mid, granted=tuple(str(r) for r in reasons),
                                   ok=not any(r.is_failure for r in reasons)))

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self.events.put(Received(topic=msg.topic, payload=bytes(msg.payload), qos=msg.qos,
                                 retain=bool(msg.retain), dup=bool(msg.dup), mid=msg.mid))

    def _on_register_write(self, _c: paho.Client, _u: Any, _sock: Any) -> None:
        pass  # the network thread's loop() sees want_write() and writes

    # ---- owner API ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.settings.client_id}",
                                        daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        # while disconnected paho keeps the message in memory and sends it after reconnecting
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("publish to %s not queued: %s", topic, paho.error_string(info.rc))
        return int(info.mid)

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        rc, _mid = self._client.subscribe(topics)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.info("subscribe not sent (%s); the owner re-subscribes on the next Connected",
                     paho.error_string(rc))

    def ack(self, mid: int, qos: int = 1) -> None:
        """PUBACK a received message (manual_ack only); a lost connection forgets it and the
        broker re-delivers."""
        if qos > 0 and self.settings.manual_ack:
            self._client.ack(mid, qos)

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, final: tuple[str, bytes] | None = None, timeout: float = 5.0) -> None:
        """Publish `final` (retained, QoS 1) if connected, then disconnect: the broker does not
        send the will after a clean disconnect, so an "offline" status must be sent this way."""
        if final is not None and self.connected:
            info = self._client.publish(final[0], final[1], qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.info("final status not confirmed: %s", exc)
        self._stop.set()
        if self.connected:
            self._client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def abort(self) -> None:
        """Drop the connection without DISCONNECT (tests: the broker sends the will)."""
        self._stop.set()
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    # ---- network thread -----------------------------------------------------------------------
    def _connect_once(self, first: bool) -> None:
        s = self.settings
        if first:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = s.session_expiry
            self._client.connect(s.host, s.port, keepalive=s.keepalive, clean_start=False,
                                 properties=props)
        else:
            self._client.reconnect()

    def _run(self) -> None:
        backoff = self.settings.backoff.delays()
        first = True
        while not self._stop.is_set():
            try:
                self._connect_once(first)
                first = False
            except (OSError, ssl.SSLError, ValueError) as exc:
                self.events.put(ConnectFailed(f"{type(exc).__name__}: {exc}"))
                self._stop.wait(backoff.next())
                continue
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            while not self._stop.is_set() and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                rc = self._client.loop(timeout=0.1)
                if self._connected.is_set():
                    backoff.reset()
            if self._stop.is_set():
                # let paho flush the DISCONNECT written by stop()
                for _ in range(10):
                    if self._client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        break
                break
            self._connected.clear()
            log.info("broker connection lost (%s); reconnecting", paho.error_string(rc))
            self._stop.wait(backoff.next())
