"""`poh eval pad`: BPCER and APCER per attack species of passive liveness at its threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.lab.evaluation.pad_data import LIVE, Observation
from app.lab.evaluation.pad_metrics import Rate, apcer, bpcer, equal_error_rate
from inference.passive import PassiveLiveness


@dataclass(frozen=True)
class PadReport:
    description: str
    decline_threshold: float
    bpcer: Rate
    apcer: dict[str, Rate]
    eer: dict[str, float]  # per species, for information (threshold-free)
    no_single_face: dict[str, int]  # per species: frames with 0 or > 1 faces (count as declined)
    target: float = 0.05

    @property
    def meets_target(self) -> bool:
        return self.bpcer.value <= self.target and all(
            a.value <= self.target for a in self.apcer.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "method": "PASSIVE",
            "decline_threshold": self.decline_threshold,
            "bpcer": self.bpcer.to_dict(),
            "apcer": {k: v.to_dict() for k, v in self.apcer.items()},
            "eer": {k: round(v, 4) for k, v in self.eer.items()},
            "no_single_face": self.no_single_face,
            "target": {"apcer_max": self.target, "bpcer_max": self.target,
                       "met": self.meets_target},
        }


def scores(observations: Sequence[Observation], liveness: PassiveLiveness) -> np.ndarray:
    """Score 0-100 per observation; frames without exactly one face score 0 (declined)."""
    out = np.zeros(len(observations))
    for i, o in enumerate(observations):
        if o.signals is not None:
            logit, _ = liveness.calibration.logit(o.signals)
            out[i] = liveness.calibration.score(logit)
    return out


def evaluate(observations: Sequence[Observation], liveness: PassiveLiveness,
             description: str) -> PadReport:
    s = scores(observations, liveness)
    species = np.array([o.species for o in observations])
    thr = liveness.config.decline_threshold
    live = s[species == LIVE]
    attacks = sorted(set(species.tolist()) - {LIVE})
    return PadReport(
        description=description,
        decline_threshold=thr,
        bpcer=bpcer(live, thr),
        apcer={sp: apcer(s[species == sp], thr) for sp in attacks},
        eer={sp: equal_error_rate(live, s[species == sp])[0] for sp in attacks},
        no_single_face={sp: int(sum(o.signals is None for o in observations if o.species == sp))
                        for sp in [LIVE, *attacks]},
    )


def render(r: PadReport) -> str:
    def pct(rate: Rate) -> str:
        return f"{100 * rate.value:5.1f}% ({rate.errors}/{rate.trials})"

    lines = [r.description, f"passive liveness, decline below score {r.decline_threshold:g}",
             f"  BPCER (live declined)        {pct(r.bpcer)}"
             f"   no single face: {r.no_single_face.get(LIVE, 0)}"]
    for sp, a in r.apcer.items():
        lines.append(f"  APCER {sp:<22} {pct(a)}   EER {100 * r.eer[sp]:4.1f}%"
                     f"   no single face: {r.no_single_face.get(sp, 0)}")
    verdict = "met" if r.meets_target else "NOT met"
    lines.append(f"target APCER <= {100 * r.target:g}% per species at BPCER <= "
                 f"{100 * r.target:g}%: {verdict}")
    return "\n".join(lines)
