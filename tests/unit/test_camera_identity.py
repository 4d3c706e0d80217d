"""Camera identity: VIDIOC_QUERYCAP bytes parsed, sysfs fixture trees read, virtual cameras
recognised from what their drivers report, and identity changes found. This machine has no
camera: the answers below are the ones the drivers' own querycap code writes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from app.capture import v4l2
from app.capture.integrity import (
    CameraIdentity,
    CameraProbe,
    VirtualCatalogue,
    check_camera,
    identity_changes,
    identity_from,
    probe_camera,
    shipped_catalogue,
    virtual_reasons,
)
from sync.vocabulary import WarningCode

# what uvcvideo answers for a USB webcam: capture + streaming + ext pix format on the node
UVC_DEVICE_CAPS = 0x04200001
UVC_CAPS = UVC_DEVICE_CAPS | 0x00800000 | v4l2.CAP_DEVICE_CAPS  # + metadata node, device caps
# v4l2loopback (exclusive_caps=0): capture and output and m2m on one node
LOOPBACK_CAPS = (v4l2.CAP_VIDEO_CAPTURE | v4l2.CAP_VIDEO_OUTPUT | v4l2.CAP_VIDEO_M2M
                 | 0x04000000 | 0x01000000)


def uvc_bytes(card: str = "HD Pro Webcam C920", bus: str = "usb-0000:00:14.0-2") -> bytes:
    return v4l2.pack_querycap("uvcvideo", card, bus, version=0x060108,
                              capabilities=UVC_CAPS, device_caps=UVC_DEVICE_CAPS)


def test_querycap_size_and_request_number_match_videodev2() -> None:
    assert v4l2.QUERYCAP_SIZE == 104
    assert v4l2.VIDIOC_QUERYCAP == 0x80685600  # _IOR('V', 0, struct v4l2_capability)


def test_parse_a_uvc_webcam_answer() -> None:
    cap = v4l2.parse_querycap(uvc_bytes())
    assert (cap.driver, cap.card, cap.bus_info) == ("uvcvideo", "HD Pro Webcam C920",
                                                    "usb-0000:00:14.0-2")
    assert cap.version == "6.1.8"
    assert cap.node_caps == UVC_DEVICE_CAPS  # device_caps, since the driver fills it in
    assert cap.captures and not cap.fed_by_software


def test_parse_stops_at_the_first_nul_and_survives_bad_utf8() -> None:
    raw = bytearray(uvc_bytes())
    raw[16:48] = b"Cam\xff\x00garbage after the end".ljust(32, b"\x00")
    cap = v4l2.parse_querycap(bytes(raw))
    assert cap.card == "Cam\ufffd"


def test_parse_refuses_a_wrong_size() -> None:
    with pytest.raises(ValueError, match="104 bytes"):
        v4l2.parse_querycap(b"\x00" * 103)


def test_without_device_caps_flag_the_capabilities_describe_the_node() -> None:
    raw = v4l2.pack_querycap("v4l2 loopback", "Dummy video device (0x0000)",
                             "platform:v4l2loopback-000", capabilities=LOOPBACK_CAPS)
    cap = v4l2.parse_querycap(raw)
    assert cap.node_caps == LOOPBACK_CAPS and cap.fed_by_software


def test_raw_layout_is_the_kernel_struct() -> None:
    raw = uvc_bytes()
    assert raw[:8] == b"uvcvideo" and raw[8:16] == b"\x00" * 8
    assert struct.unpack_from("=I", raw, 80)[0] == 0x060108
    assert struct.unpack_from("=I", raw, 88)[0] == UVC_DEVICE_CAPS


def ident(raw: bytes, **more: object) -> CameraIdentity:
    base = identity_from("video0", v4l2.parse_querycap(raw), None)
    return CameraIdentity(**{**base.to_json(), **more})


@pytest.mark.parametrize(("raw", "expect"), [
    (v4l2.pack_querycap("v4l2 loopback", "OBS Virtual Camera", "platform:v4l2loopback-000",
                        capabilities=0x85208001, device_caps=0x05208001),
     ["driver 'v4l2 loopback'", "bus 'platform:v4l2loopback-000'",
      "card 'obs virtual camera'", "takes video in"]),
    (v4l2.pack_querycap("v4l2 loopback", "Dummy video device (0x0000)",
                        "platform:v4l2loopback-001", capabilities=LOOPBACK_CAPS),
     ["driver 'v4l2 loopback'", "card 'dummy video device (0x0000)'"]),
    (v4l2.pack_querycap("v4l2loopback_dc", "Droidcam", "platform:v4l2loopback_dc-000"),
     ["DroidCam's v4l2loopback fork", "bus 'platform:v4l2loopback_dc-000'", "card 'droidcam'"]),
    (v4l2.pack_querycap("akvcam", "akvcam 2/capture", "platform:akvcam-8",
                        capabilities=0x84000001, device_caps=0x04000001),
     ["driver 'akvcam'", "bus 'platform:akvcam-8'"]),
    (v4l2.pack_querycap("vivid", "vivid", "platform:vivid-000"),
     ["driver 'vivid'", "bus 'platform:vivid-000'"]),
])
def test_virtual_cameras_are_recognised(raw: bytes, expect: list[str]) -> None:
    reasons = virtual_reasons(ident(raw))
    for part in expect:
        assert any(part in r for r in reasons), (part, reasons)


def test_a_uvc_webcam_is_not_virtual() -> None:
    assert virtual_reasons(ident(uvc_bytes(), sysfs_driver="uvcvideo", usb_vendor="046d",
                                 usb_product="082d")) == ()


def test_a_renamed_loopback_still_shows_by_its_caps_and_its_sysfs_place() -> None:
    raw = v4l2.pack_querycap("uvcvideo", "HD Pro Webcam C920", "usb-0000:00:14.0-2",
                             capabilities=LOOPBACK_CAPS)
    reasons = virtual_reasons(ident(raw, sysfs_virtual=True))
    assert len(reasons) == 2
    assert "takes video in" in reasons[0] and "/sys/devices/virtual" in reasons[1]


@pytest.mark.parametrize(("usb", "what"), [(("1d6b", "0102"), "gadget"),
                                           (("534d", "2109"), "HDMI capture"),
                                           (("0fd9", "0066"), "Cam Link")])
def test_usb_cameras_fed_by_another_computer(usb: tuple[str, str], what: str) -> None:
    reasons = virtual_reasons(ident(uvc_bytes(card="USB Video"), usb_vendor=usb[0],
                                    usb_product=usb[1]))
    assert len(reasons) == 1 and what in reasons[0]


def test_the_shipped_list_parses_and_a_bad_one_is_refused() -> None:
    cat = shipped_catalogue()
    assert ("v4l2 loopback" in dict(cat.drivers)) and ("1d6b:0102" in dict(cat.usb_ids))
    with pytest.raises(ValueError, match="version 1"):
        VirtualCatalogue.parse({"version": 2})
    with pytest.raises(ValueError, match="bad entry in drivers"):
        VirtualCatalogue.parse({"version": 1, "drivers": [{"match": ""}], "bus_info_prefixes": [],
                                "card_names": [], "sysfs_drivers": [], "usb_ids": []})


def make_usb_camera(sys_root: Path, node: str = "video0", serial: str | None = "A1B2C3",
                    product: str = "082d") -> None:
    """A sysfs tree as Linux lays it out for a UVC camera on port 1-2."""
    usb = sys_root / "devices/pci0000:00/0000:00:14.0/usb1/1-2"
    iface = usb / "1-2:1.0"
    video = iface / "video4linux" / node
    video.mkdir(parents=True)
    (video / "name").write_text("HD Pro Webcam C920\n")
    os.symlink(os.path.relpath(iface, video), video / "device")
    drivers = sys_root / "bus/usb/drivers/uvcvideo"
    drivers.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(drivers, iface), iface / "driver")
    for key, value in {"idVendor": "046d", "idProduct": product, "manufacturer": "Logitech",
                       "product": "HD Pro Webcam C920", "serial": serial}.items():
        if value is not None:
            (usb / key).write_text(value + "\n")
    cls = sys_root / "class/video4linux"
    cls.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(video, cls), cls / node)


def make_loopback(sys_root: Path, node: str = "video4") -> None:
    video = sys_root / "devices/virtual/video4linux" / node
    video.mkdir(parents=True)
    (video / "name").write_text("OBS Virtual Camera\n")
    cls = sys_root / "class/video4linux"
    cls.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(video, cls), cls / node)


def test_sysfs_of_a_usb_camera(tmp_path: Path) -> None:
    make_usb_camera(tmp_path)
    facts = v4l2.read_sysfs("video0", tmp_path)
    assert facts is not None
    assert (facts.name, facts.driver, facts.virtual) == ("HD Pro Webcam C920", "uvcvideo", False)
    assert (facts.usb_vendor, facts.usb_product, facts.usb_serial) == ("046d", "082d", "A1B2C3")
    assert facts.device_path == ("devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/"
                                 "video4linux/video0")


def test_sysfs_of_a_loopback_is_virtual_with_no_parent(tmp_path: Path) -> None:
    make_loopback(tmp_path)
    facts = v4l2.read_sysfs("video4", tmp_path)
    assert facts is not None and facts.virtual and facts.driver is None
    assert facts.usb_vendor is None
    assert v4l2.read_sysfs("video9", tmp_path) is None


def test_probe_without_a_device_node_says_why_and_still_reads_sysfs(tmp_path: Path) -> None:
    make_loopback(tmp_path / "sys")
    probe = probe_camera(4, dev_root=tmp_path / "dev", sys_root=tmp_path / "sys")
    assert probe.error is not None and "cannot open" in probe.error
    assert probe.identity.sysfs_name == "OBS Virtual Camera" and probe.virtual
    odd = probe_camera(tmp_path / "not-a-camera", sys_root=tmp_path / "sys")
    assert odd.error is not None and "not a /dev/videoN" in odd.error and not odd.virtual


def test_probe_of_a_file_that_is_no_v4l2_device(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/video0").write_bytes(b"")
    probe = probe_camera("0", dev_root=tmp_path / "dev", sys_root=tmp_path / "sys")
    assert probe.error is not None and "not a V4L2 device" in probe.error


def test_device_links_resolve_to_the_node(tmp_path: Path) -> None:
    (tmp_path / "video2").write_bytes(b"")
    link = tmp_path / "usb-Logitech_C920-video-index0"
    os.symlink(tmp_path / "video2", link)
    assert v4l2.device_node(link) == (tmp_path / "video2").resolve()
    assert v4l2.device_node(" 3 ", tmp_path) == tmp_path / "video3"


def usb_identity(tmp_path: Path, **kw: str | None) -> CameraIdentity:
    root = tmp_path / f"sys{len(list(tmp_path.iterdir()))}"
    make_usb_camera(root, **kw)  # type: ignore[arg-type]
    return identity_from("video0", v4l2.parse_querycap(uvc_bytes()),
                         v4l2.read_sysfs("video0", root))


def test_identity_changes_name_the_field(tmp_path: Path) -> None:
    first = usb_identity(tmp_path)
    assert identity_changes(first, usb_identity(tmp_path)) == ()
    swapped = usb_identity(tmp_path, serial="ZZZ999")
    assert identity_changes(first, swapped) == ("usb_serial 'A1B2C3' -> 'ZZZ999'",)
    other = usb_identity(tmp_path, product="0892")
    assert identity_changes(first, other) == ("usb_product '082d' -> '0892'",)


def test_identity_json_round_trip_and_strictness() -> None:
    one = ident(uvc_bytes(), usb_serial="A1")
    assert CameraIdentity.from_json(one.to_json()) == one
    with pytest.raises(ValueError, match="unknown"):
        CameraIdentity.from_json({**one.to_json(), "colour": "red"})
    with pytest.raises(ValueError, match="wrong type"):
        CameraIdentity.from_json({**one.to_json(), "capabilities": "7"})
    with pytest.raises(ValueError, match="wrong type"):
        CameraIdentity.from_json({**one.to_json(), "sysfs_virtual": 1})


def test_check_camera_findings() -> None:
    cam = ident(uvc_bytes(), usb_vendor="046d", usb_product="082d", usb_serial="A1")
    same = check_camera(CameraProbe("/dev/video0", cam, ()), cam)
    assert same.findings == ()
    moved = CameraIdentity(**{**cam.to_json(), "bus_info": "usb-0000:00:14.0-3"})
    changed = check_camera(CameraProbe("/dev/video0", moved, ()), cam)
    assert [f.code for f in changed.findings] == [WarningCode.CAMERA_CHANGED]
    assert "bus_info" in changed.findings[0].reason
    loop = ident(v4l2.pack_querycap("v4l2 loopback", "OBS Virtual Camera",
                                    "platform:v4l2loopback-000"))
    both = check_camera(CameraProbe("/dev/video4", loop, virtual_reasons(loop)), cam)
    assert [f.code for f in both.findings] == [WarningCode.VIRTUAL_CAMERA,
                                               WarningCode.CAMERA_CHANGED]
    never = check_camera(CameraProbe("/dev/video0", cam, ()), None)
    assert "no camera was provisioned" in never.findings[0].reason
    bad = check_camera(CameraProbe("/dev/video0", cam, ()), None, "altered")
    assert "cannot be used: altered" in bad.findings[0].reason


def test_stated_rate_only_when_plausible() -> None:
    check = check_camera(CameraProbe("0", CameraIdentity(), ()), CameraIdentity())
    assert check.with_fps(30.0).stated_fps == 30.0
    assert check.with_fps(0.0).stated_fps is None and check.with_fps(None).stated_fps is None
