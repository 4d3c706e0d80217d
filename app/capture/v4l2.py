"""What Linux says about a video device: V4L2's VIDIOC_QUERYCAP answer and the sysfs entries.

Parsing is pure (a QUERYCAP answer is 104 bytes; sysfs is read under a root folder that tests
point at a fixture tree); the ioctl is one thin call. Nothing here opens the camera for
capture: QUERYCAP works beside OpenCV's open handle.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

# struct v4l2_capability (linux/videodev2.h): driver[16], card[32], bus_info[32], version,
# capabilities, device_caps, reserved[3]; all __u32 in the machine's byte order.
_CAPABILITY = struct.Struct("=16s32s32sIII3I")
QUERYCAP_SIZE = _CAPABILITY.size  # 104
# _IOR('V', 0, struct v4l2_capability): read direction (2) << 30 | size << 16 | 'V' << 8 | 0
VIDIOC_QUERYCAP = (2 << 30) | (QUERYCAP_SIZE << 16) | (ord("V") << 8) | 0

CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_OUTPUT = 0x00000002
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_VIDEO_OUTPUT_MPLANE = 0x00002000
CAP_VIDEO_M2M_MPLANE = 0x00004000
CAP_VIDEO_M2M = 0x00008000
CAP_DEVICE_CAPS = 0x80000000
CAPTURE_CAPS = CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE
# a capture node that also takes frames in (output) or converts them (m2m) is fed by software
FEED_CAPS = CAP_VIDEO_OUTPUT | CAP_VIDEO_OUTPUT_MPLANE | CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE

_VIDEO_NODE = re.compile(r"^video(\d{1,4})$")
_SYSFS_MAX = 256  # a sysfs attribute such as a serial is short; never read more


class V4l2Error(OSError):
    """The device is not a V4L2 device, or cannot be queried; str() is one line."""


@dataclass(frozen=True)
class Capability:
    """The VIDIOC_QUERYCAP answer."""

    driver: str
    card: str
    bus_info: str
    version: str  # the kernel's "major.minor.patch"
    capabilities: int
    device_caps: int

    @property
    def node_caps(self) -> int:
        """What this device node does (device_caps when the driver fills it in)."""
        return self.device_caps if self.capabilities & CAP_DEVICE_CAPS else self.capabilities

    @property
    def captures(self) -> bool:
        return bool(self.node_caps & CAPTURE_CAPS)

    @property
    def fed_by_software(self) -> bool:
        """A capture node that is also a video output or memory-to-memory device."""
        return self.captures and bool(self.node_caps & FEED_CAPS)


def _text(raw: bytes) -> str:
    # a C string: up to the first NUL; drivers write ASCII or UTF-8, never trust either
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def parse_querycap(raw: bytes) -> Capability:
    """A VIDIOC_QUERYCAP answer (exactly 104 bytes) as its fields."""
    if len(raw) != QUERYCAP_SIZE:
        raise ValueError(f"a v4l2_capability is {QUERYCAP_SIZE} bytes, got {len(raw)}")
    driver, card, bus, version, caps, dev_caps, *_ = _CAPABILITY.unpack(raw)
    ver = f"{(version >> 16) & 0xFF}.{(version >> 8) & 0xFF}.{version & 0xFF}"
    return Capability(_text(driver), _text(card), _text(bus), ver, caps, dev_caps)


def pack_querycap(driver: str, card: str, bus_info: str, *, version: int = 0x060100,
                  capabilities: int = 0, device_caps: int = 0) -> bytes:
    """The bytes a driver would answer (for tests and fixtures)."""
    return _CAPABILITY.pack(driver.encode()[:15], card.encode()[:31], bus_info.encode()[:31],
                            version, capabilities, device_caps, 0, 0, 0)


def query_capability(device: Path) -> Capability:
    """Ask the device node itself (the thin ioctl wrapper)."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        raise V4l2Error(f"{device}: cannot open ({exc.strerror})") from None
    try:
        buf = bytearray(QUERYCAP_SIZE)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf, True)
    except OSError as exc:
        raise V4l2Error(f"{device}: not a V4L2 device (VIDIOC_QUERYCAP: {exc.strerror})"
                        ) from None
    finally:
        os.close(fd)
    return parse_querycap(bytes(buf))


def device_node(device: int | str | Path, dev_root: Path = Path("/dev")) -> Path:
    """The /dev/videoN node of an OpenCV index (`0`), a node, or a link to one (by-id, by-path).
    OpenCV's V4L2 backend opens index N as /dev/videoN."""
    spec = str(device).strip()
    if spec.isdigit():
        return dev_root / f"video{int(spec)}"
    path = Path(spec)
    return path.resolve() if path.is_symlink() else path


def node_name(node: Path) -> str:
    """`videoN` of a device node; ValueError for anything else."""
    if not _VIDEO_NODE.match(node.name):
        raise ValueError(f"{node} is not a /dev/videoN camera node")
    return node.name


@dataclass(frozen=True)
class SysfsFacts:
    """What /sys/class/video4linux/videoN says about a node (None: not there)."""

    name: str | None  # the card name the driver registered
    device_path: str | None  # the node's real sysfs path
    virtual: bool  # under /sys/devices/virtual: no hardware parent at all
    driver: str | None  # the kernel driver bound to the parent device (uvcvideo, ...)
    usb_vendor: str | None  # 4 hex digits
    usb_product: str | None
    usb_serial: str | None
    usb_manufacturer: str | None
    usb_product_name: str | None


def _attr(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(_SYSFS_MAX)
    except OSError:
        return None
    text = raw.decode("utf-8", "replace").strip()
    return text or None


def _usb_device(start: Path) -> Path | None:
    """The USB device folder above an interface (the first parent with idVendor)."""
    for folder in (start, *start.parents):
        if (folder / "idVendor").is_file():
            return folder
        if folder.name in ("devices", "sys") or folder == folder.parent:
            return None
    return None


def read_sysfs(name: str, sys_root: Path = Path("/sys")) -> SysfsFacts | None:
    """The sysfs facts of `videoN`, or None when sysfs has no such node."""
    entry = sys_root / "class" / "video4linux" / name
    if not entry.exists():
        return None
    real = entry.resolve()
    devices = (sys_root / "devices").resolve()
    virtual = real.is_relative_to(devices / "virtual")
    parent = entry / "device"
    driver = None
    usb: Path | None = None
    if parent.exists():
        drv = parent / "driver"
        driver = drv.resolve().name if drv.exists() else None
        usb = _usb_device(parent.resolve())

    def usb_attr(key: str) -> str | None:
        return _attr(usb / key) if usb is not None else None

    return SysfsFacts(
        name=_attr(entry / "name"), device_path=str(real.relative_to(sys_root.resolve()))
        if real.is_relative_to(sys_root.resolve()) else str(real),
        virtual=virtual, driver=driver,
        usb_vendor=(usb_attr("idVendor") or "").lower() or None,
        usb_product=(usb_attr("idProduct") or "").lower() or None,
        usb_serial=usb_attr("serial"), usb_manufacturer=usb_attr("manufacturer"),
        usb_product_name=usb_attr("product"))
