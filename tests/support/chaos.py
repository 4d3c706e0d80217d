"""The sync chaos run: booths producing signed verdicts while their drains, the broker and the
hub are killed and restarted at random moments; then the proof that nothing was lost or
doubled: every verdict at the hub exactly once (no sequence gap, unique keys), every signature
verifies against the registered key, every outbox empty, every verdict holding its hub ack."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.lab.benchmarks.sync_booths import open_booth
from app.lab.fleet_rig import FLEET, FleetRig, RigBooth

PRODUCER = """
import sys
from pathlib import Path
from app.lab.benchmarks.sync_booths import append_verdicts, open_booth
from sync.vocabulary import CaptureKind
booth = open_booth(Path(sys.argv[1]), fleet="lab")
append_verdicts(booth, int(sys.argv[2]), prefix=sys.argv[3], kind=CaptureKind.SIMULATION)
booth.close()
"""


@dataclass
class ChaosResult:
    seed: int
    produced: dict[str, int]
    events: list[str] = field(default_factory=list)
    hub_verdicts: int = 0
    hub_by_device: dict[str, int] = field(default_factory=dict)
    verified: int = 0
    failed: list[str] = field(default_factory=list)
    gaps: dict[str, list[int]] = field(default_factory=dict)
    backlogs: dict[str, int] = field(default_factory=dict)
    without_ack: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"chaos seed {self.seed}: produced {sum(self.produced.values())} "
                f"({self.produced}); at the hub {self.hub_verdicts} ({self.hub_by_device}); "
                f"signatures verified {self.verified}, failed {len(self.failed)}; gaps "
                f"{self.gaps}; outboxes {self.backlogs}; verdicts without a hub ack "
                f"{self.without_ack}; events {self.events}; {self.seconds:.0f} s")


def _booth_state(b: RigBooth) -> tuple[int, int, int]:
    """(verdicts stored, outbox backlog, verdicts without a hub ack)."""
    booth = open_booth(b.home, fleet=FLEET)
    try:
        with booth.db.read() as conn:
            n, no_ack = conn.execute(
                "SELECT COUNT(*), COUNT(*) - COUNT(hub_ack) FROM verdicts").fetchone()
        return int(n), booth.store.backlog().pending, int(no_ack)
    finally:
        booth.close()


def run_chaos(folder: Path, booths: int, total: int, rounds: int, seed: int | None = None,
              settle: float = 900.0) -> ChaosResult:
    seed = seed if seed is not None else int(os.environ.get("POH_CHAOS_SEED", "0")) or \
        random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(seed)
    rig = FleetRig(folder)
    started = time.monotonic()
    rig.broker.start()
    try:
        rig.start_hub()
        fleet = [rig.add_booth(f"chaos-{i + 1}") for i in range(booths)]
        share = [total // booths + (1 if i < total % booths else 0) for i in range(booths)]
        result = ChaosResult(seed, {b.device_id: n for b, n in zip(fleet, share, strict=True)})
        for b in fleet:
            rig.start_drain(b, "--ack-timeout", "10")
        producers = [subprocess.Popen([sys.executable, "-c", PRODUCER, str(b.home), str(n),
                                       f"{b.device_id}-v"], env=dict(os.environ))
                     for b, n in zip(fleet, share, strict=True)]
        # each round: the broker, the hub and one booth's drain, in a random order, each at a
        # random share of the production
        kinds = [k for _ in range(rounds) for k in rng.sample(["broker", "hub", "booth"], 3)]
        marks = sorted(rng.uniform(0.05, 0.95) for _ in kinds)
        for kind, mark in zip(kinds, marks, strict=True):
            rig.wait(lambda m=mark: sum(_booth_state(b)[0] for b in fleet) >= m * total
                     or all(p.poll() is not None for p in producers),
                     "production to reach the next chaos moment", settle)
            result.events.append(_strike(rig, kind, fleet, rng))
        for p in producers:
            if p.wait(settle) != 0:
                raise AssertionError(f"a producer failed ({p.returncode})")
        rig.wait(lambda: all(_booth_state(b)[1] == 0 for b in fleet), "every outbox to empty",
                 settle)
        for b in fleet:
            rig.stop_drain(b)
        rig.stop_hub()
        _verify(rig, fleet, result)
    finally:
        rig.close()
    result.seconds = time.monotonic() - started
    return result


def _strike(rig: FleetRig, kind: str, fleet: list[RigBooth], rng: random.Random) -> str:
    if kind == "broker":
        hard = rng.random() < 0.5
        rig.broker.kill() if hard else rig.broker.stop()
        time.sleep(rng.uniform(0.2, 2.0))  # the broker stays away a while
        rig.broker.start()
        return "broker SIGKILL" if hard else "broker stop"
    if kind == "hub":
        rig.kill_hub()
        time.sleep(rng.uniform(0.2, 2.0))
        rig.start_hub()
        return "hub SIGKILL"
    b = rng.choice(fleet)
    rig.kill_drain(b)
    rig.start_drain(b, "--ack-timeout", "10")
    return f"{b.device_id} drain SIGKILL"


def _verify(rig: FleetRig, fleet: list[RigBooth], result: ChaosResult) -> None:
    import json

    status = rig.hub_status()
    result.hub_verdicts = int(str(status["verdicts"]))
    by_device = status["by_device"]
    assert isinstance(by_device, list)
    result.hub_by_device = {d["device"]: int(d["verdicts"]) for d in by_device}
    audit = json.loads(rig.hub_cli("audit", "--json"))
    result.verified, result.failed, result.gaps = audit["verified"], audit["failed"], \
        audit["gaps"]
    for b in fleet:
        _, backlog, no_ack = _booth_state(b)
        result.backlogs[b.device_id] = backlog
        result.without_ack[b.device_id] = no_ack
