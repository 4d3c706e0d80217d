"""Topic names of the fleet tree; one level per fleet id and device id (no '/', '+', '#')."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREFIX = "poh/v1"
DeviceTopicKind = Literal["verdict", "ack", "status", "register"]
_KINDS = ("verdict", "ack", "status", "register")

# Hub workers share verdicts (each verdict reaches one worker of group "hub"); registrations
# are retained, which MQTT 5 never delivers on a shared subscription, so every worker reads them.
HUB_SHARE_GROUP = "hub"


class TopicError(ValueError):
    pass


def _level(value: str, what: str) -> str:
    if not value or any(c in value for c in "/+#\x00"):
        raise TopicError(f"{what} {value!r} cannot be one MQTT topic level")
    return value


def device_topic(fleet: str, device_id: str, kind: DeviceTopicKind) -> str:
    return f"{PREFIX}/{_level(fleet, 'fleet id')}/{_level(device_id, 'device id')}/{kind}"


def verdict_topic(fleet: str, device_id: str) -> str:
    return device_topic(fleet, device_id, "verdict")


def ack_topic(fleet: str, device_id: str) -> str:
    return device_topic(fleet, device_id, "ack")


def status_topic(fleet: str, device_id: str) -> str:
    return device_topic(fleet, device_id, "status")


def register_topic(fleet: str, device_id: str) -> str:
    return device_topic(fleet, device_id, "register")


def hub_verdict_filter(fleet: str = "+") -> str:
    return f"$share/{HUB_SHARE_GROUP}/{PREFIX}/{fleet}/+/verdict"


def hub_register_filter(fleet: str = "+") -> str:
    return f"{PREFIX}/{fleet}/+/register"


@dataclass(frozen=True)
class DeviceTopic:
    fleet: str
    device_id: str
    kind: DeviceTopicKind


def parse_device_topic(topic: str) -> DeviceTopic:
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != PREFIX or parts[4] not in _KINDS:
        raise TopicError(f"not a device topic: {topic!r}")
    kind: DeviceTopicKind = parts[4]  # type: ignore[assignment]
    return DeviceTopic(_level(parts[2], "fleet id"), _level(parts[3], "device id"), kind)
