"""The drain inside the kiosk: a session's verdict wakes it and reaches the hub; a refusal is
shown on the operator's status."""

from __future__ import annotations

import time
from pathlib import Path

from support.fleet import HubThread, TestFleet

from app.kiosk.operator import OperatorConfig, gate_for, hash_pin
from app.kiosk.operator_console import OperatorConsole
from app.kiosk.root import Kiosk
from app.kiosk.verdict_sync import attach_drain
from sync.drain import DrainSettings
from sync.drain.booth import make_drain
from sync.hub import registry
from sync.transport import Backoff
from sync.verdict import CaptureSource
from sync.vocabulary import CaptureKind


def _wait(cond: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_kiosk_verdicts_reach_the_hub_and_refusals_reach_the_operator(
        kiosk: Kiosk, tmp_path: Path) -> None:
    fleet = TestFleet(tmp_path / "fleet")
    gate = gate_for(OperatorConfig(pin_hash=hash_pin("13579")), kiosk.storage.home)
    console = OperatorConsole(kiosk, gate)
    assert gate.unlock("13579").ok
    device = kiosk.key.device_id
    with fleet.broker, HubThread(fleet, f"sqlite:///{tmp_path / 'hub.db'}") as hub:
        drain = make_drain(kiosk.storage.verdicts(), broker_url=fleet.url, fleet="f",
                           device_id=device, hub_key=fleet.hub_key.public_key(),
                           tls=fleet.tls(device),
                           settings=DrainSettings(refusal_backoff=Backoff(0.2, 1.0)))
        thread = attach_drain(kiosk, drain)
        try:
            flow = kiosk.new_session(CaptureSource(kind=CaptureKind.CAMERA, detail="t"), "ann")
            flow.start(0.0)
            flow.consent(False, 0.1)  # an Abandoned verdict, signed and in the outbox
            _wait(lambda: console.status().outbox_refused == 1, "the hub's refusal")
            st = console.status()
            assert st.outbox_backlog == 1 and "unknown device" in str(st.last_refusal)
            registry.register_device(hub.engine, "f", device, kiosk.key.public_jwk())
            _wait(lambda: console.status().outbox_backlog == 0, "delivery")
            st = console.status()
            assert st.outbox_refused == 0 and st.last_sync is not None
        finally:
            thread.stop()
