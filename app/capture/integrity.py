"""Is the booth's camera a camera? Its identity as Linux reports it, the signs of a virtual
camera, and whether it is still the camera the booth was provisioned with.

`probe_camera(device)` is what the kiosk calls when it opens its camera (an OpenCV index or a
/dev/videoN path): V4L2's driver, card and bus names (VIDIOC_QUERYCAP) and sysfs's parent
device, driver and USB vendor, product and serial. `virtual_reasons` compares them with the
list in assets/capture/virtual_cameras.json and with two structural signs (a node with no
hardware parent in sysfs; a capture node that also takes frames in). `identity_changes` lists
what differs from the provisioned identity. All of it is pure but the probe's reads.

Limits: these are names a driver reports. A kernel module written to lie (a loopback that
calls itself uvcvideo and fakes a USB parent) passes; so does a real camera filming a screen.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.capture.v4l2 import (
    Capability,
    V4l2Error,
    device_node,
    node_name,
    query_capability,
    read_sysfs,
)
from app.session.inputs import CaptureFinding
from assets import asset_path
from sync.vocabulary import WarningCode

log = logging.getLogger(__name__)

CATALOGUE = asset_path("capture", "virtual_cameras.json")
# The fields whose change means "another camera" (the node number and the kernel version may
# change on any reboot or update; a card name is the driver's and follows the device).
COMPARED = ("driver", "card", "bus_info", "sysfs_driver", "usb_vendor", "usb_product",
            "usb_serial")


@dataclass(frozen=True)
class CameraIdentity:
    """What the operating system says the camera is. None: not reported."""

    node: str | None = None  # videoN
    driver: str | None = None  # V4L2 driver name (uvcvideo, "v4l2 loopback", ...)
    card: str | None = None
    bus_info: str | None = None  # e.g. usb-0000:00:14.0-2 (the port), platform:...
    capabilities: int | None = None  # the node's V4L2 capability flags
    fed_by_software: bool = False  # capture node that is also an output or m2m node
    sysfs_name: str | None = None
    sysfs_path: str | None = None
    sysfs_virtual: bool = False  # under /sys/devices/virtual
    sysfs_driver: str | None = None  # driver bound to the parent device
    usb_vendor: str | None = None
    usb_product: str | None = None
    usb_serial: str | None = None
    usb_manufacturer: str | None = None
    usb_product_name: str | None = None

    @property
    def usb_id(self) -> str | None:
        if self.usb_vendor and self.usb_product:
            return f"{self.usb_vendor}:{self.usb_product}"
        return None

    def describe(self) -> str:
        parts = [self.card or self.sysfs_name or "unknown camera"]
        if self.driver:
            parts.append(f"driver {self.driver}")
        if self.usb_id:
            parts.append(f"USB {self.usb_id}")
        if self.usb_serial:
            parts.append(f"serial {self.usb_serial}")
        if self.bus_info:
            parts.append(f"at {self.bus_info}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Any) -> CameraIdentity:
        """From to_json(); ValueError on anything else (unknown keys, wrong types)."""
        if not isinstance(doc, dict):
            raise ValueError("a camera identity is a JSON object")
        known = {f.name: f for f in fields(cls)}
        if unknown := set(doc) - set(known):
            raise ValueError(f"unknown camera identity field {sorted(unknown)[0]}")
        for key, value in doc.items():
            kind = known[key].type
            ok = (isinstance(value, bool) if kind == "bool" else
                  value is None or (isinstance(value, int) and not isinstance(value, bool))
                  if kind == "int | None" else value is None or isinstance(value, str))
            if not ok:
                raise ValueError(f"camera identity field {key} has the wrong type")
        return cls(**doc)


def identity_from(node: str | None, cap: Capability | None,
                  sys_facts: Any | None) -> CameraIdentity:
    """Combine a QUERYCAP answer and sysfs facts (either may be missing)."""
    s = sys_facts
    return CameraIdentity(
        node=node,
        driver=cap.driver if cap else None, card=cap.card if cap else None,
        bus_info=cap.bus_info if cap else None,
        capabilities=cap.node_caps if cap else None,
        fed_by_software=cap.fed_by_software if cap else False,
        sysfs_name=s.name if s else None, sysfs_path=s.device_path if s else None,
        sysfs_virtual=s.virtual if s else False, sysfs_driver=s.driver if s else None,
        usb_vendor=s.usb_vendor if s else None, usb_product=s.usb_product if s else None,
        usb_serial=s.usb_serial if s else None,
        usb_manufacturer=s.usb_manufacturer if s else None,
        usb_product_name=s.usb_product_name if s else None)


@dataclass(frozen=True)
class VirtualCatalogue:
    """assets/capture/virtual_cameras.json: (match, what) pairs per kind, lower-cased."""

    drivers: tuple[tuple[str, str], ...]
    bus_info_prefixes: tuple[tuple[str, str], ...]
    card_names: tuple[tuple[str, str], ...]
    sysfs_drivers: tuple[tuple[str, str], ...]
    usb_ids: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, doc: Any) -> VirtualCatalogue:
        if not isinstance(doc, dict) or doc.get("version") != 1:
            raise ValueError("virtual camera list: expected a version 1 object")

        def pairs(key: str) -> tuple[tuple[str, str], ...]:
            items = doc.get(key)
            if not isinstance(items, list):
                raise ValueError(f"virtual camera list: {key} must be a list")
            out = []
            for item in items:
                if not (isinstance(item, dict) and isinstance(item.get("match"), str)
                        and item["match"].strip() and isinstance(item.get("what"), str)):
                    raise ValueError(f"virtual camera list: bad entry in {key}: {item!r}")
                out.append((item["match"].strip().lower(), item["what"]))
            return tuple(out)

        return cls(pairs("drivers"), pairs("bus_info_prefixes"), pairs("card_names"),
                   pairs("sysfs_drivers"), pairs("usb_ids"))


@lru_cache(maxsize=1)
def shipped_catalogue() -> VirtualCatalogue:
    """The list the booth ships (a read-only asset, so caching it is safe)."""
    return VirtualCatalogue.parse(json.loads(CATALOGUE.read_text(encoding="utf-8")))


def virtual_reasons(ident: CameraIdentity, catalogue: VirtualCatalogue | None = None
                    ) -> tuple[str, ...]:
    """Why this device looks like a virtual camera (empty: nothing found)."""
    cat = catalogue or shipped_catalogue()
    out: list[str] = []

    def low(v: str | None) -> str:
        return (v or "").strip().lower()

    for match, what in cat.drivers:
        if low(ident.driver) == match:
            out.append(f"driver {ident.driver!r}: {what}")
    for match, what in cat.bus_info_prefixes:
        if low(ident.bus_info).startswith(match):
            out.append(f"bus {ident.bus_info!r}: {what}")
    names = {low(ident.card), low(ident.sysfs_name)} - {""}
    for match, what in cat.card_names:
        hit = next((n for n in sorted(names) if match in n), None)
        if hit is not None:
            out.append(f"card {hit!r}: {what}")
    for match, what in cat.sysfs_drivers:
        if low(ident.sysfs_driver) == match:
            out.append(f"kernel driver {ident.sysfs_driver!r}: {what}")
    for match, what in cat.usb_ids:
        if low(ident.usb_id) == match:
            out.append(f"USB {ident.usb_id}: {what}")
    if ident.fed_by_software:
        out.append("the capture node also takes video in (output or memory-to-memory): "
                   "software writes its frames")
    if ident.sysfs_virtual:
        out.append("sysfs puts the node under /sys/devices/virtual: no hardware behind it")
    return tuple(out)


def identity_changes(provisioned: CameraIdentity, current: CameraIdentity) -> tuple[str, ...]:
    """What differs in the fields that name a camera (empty: the same camera)."""
    out = []
    for key in COMPARED:
        old, new = getattr(provisioned, key), getattr(current, key)
        if old != new:
            out.append(f"{key} {old!r} -> {new!r}")
    return tuple(out)


@dataclass(frozen=True)
class CameraProbe:
    """The identity read at the kiosk's camera, and whether it looks virtual."""

    device: str
    identity: CameraIdentity
    virtual_reasons: tuple[str, ...]
    error: str | None = None  # the identity could not be read (fully or at all)

    @property
    def virtual(self) -> bool:
        return bool(self.virtual_reasons)


def probe_camera(device: int | str | Path, *, dev_root: Path = Path("/dev"),
                 sys_root: Path = Path("/sys")) -> CameraProbe:
    """The camera's identity and virtual-camera signs. Never raises for a missing or odd
    device: what could not be read is in `error` (and comparing it with a provisioned
    identity then shows the difference)."""
    node = device_node(device, dev_root)
    try:
        name = node_name(node)
    except ValueError as exc:
        return CameraProbe(str(device), CameraIdentity(), (), str(exc))
    errors = []
    cap = None
    try:
        cap = query_capability(node)
    except V4l2Error as exc:
        errors.append(str(exc))
    facts = read_sysfs(name, sys_root)
    if facts is None:
        errors.append(f"sysfs has no {name}")
    ident = identity_from(name, cap, facts)
    reasons = virtual_reasons(ident)
    probe = CameraProbe(str(node), ident, reasons, "; ".join(errors) or None)
    log.info("camera %s: %s%s", node, ident.describe(),
             f" (virtual: {reasons[0]})" if reasons else "")
    return probe


@dataclass(frozen=True)
class CameraCheck:
    """What a session on the booth camera starts with: the findings known before any frame
    (virtual camera, identity changed) and the camera's stated frame rate for the timing
    check. CameraCheck() is a camera nobody probed: no findings, rate unknown."""

    findings: tuple[CaptureFinding, ...] = ()
    stated_fps: float | None = None
    probe: CameraProbe | None = None

    def with_fps(self, fps: float | None) -> CameraCheck:
        ok = fps is not None and 1.0 <= fps <= 480.0  # OpenCV answers 0 when it does not know
        return CameraCheck(self.findings, fps if ok else None, self.probe)


def check_camera(probe: CameraProbe, provisioned: CameraIdentity | None,
                 provision_error: str | None = None) -> CameraCheck:
    """The findings of a probe against the booth's provisioned identity."""
    found: list[CaptureFinding] = []
    if probe.virtual:
        found.append(CaptureFinding(WarningCode.VIRTUAL_CAMERA,
                                    "virtual camera: " + "; ".join(probe.virtual_reasons)))
    if provision_error is not None:
        why = f"the provisioned camera identity cannot be used: {provision_error}"
    elif provisioned is None:
        why = "no camera was provisioned for this booth (`poh camera provision DEVICE`)"
    elif changes := identity_changes(provisioned, probe.identity):
        why = "camera changed since provisioning: " + "; ".join(changes)
        if probe.error:
            why += f" ({probe.error})"
    else:
        why = ""
    if why:
        found.append(CaptureFinding(WarningCode.CAMERA_CHANGED, why))
    return CameraCheck(tuple(found), None, probe)
