"""The kiosk part of `poh-lab demo`: the Qt kiosk application run offscreen four times, each with
a scripted person (`poh-lab kiosk`'s runner), in one fresh lab data folder signed with its
scratch key:

1. a simulated live person on the FLASHING workflow (the closed-loop camera, lit by what the
   kiosk screen presents): expected Approved, with the credential's QR code on the result
   screen (decoded back from the screenshot and compared with the credential issued);
2. a simulated print and 3. a simulated re-tinting screen replay on the same workflow: Declined;
4. the demo's clip of a real portrait (a video) on the default, passive workflow: Approved,
   with its QR code.

Every screen shown is saved as a PNG (plus one shot of each session's live preview, taken on a
flow event while the preview is drawn); the key screens of the four runs go onto one contact
sheet. A run whose outcome differs from the expected one is reported as such, never as expected.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.lab.cli.kiosk_demo_shots import KeptFrames, SessionShots, decode_qr
from app.lab.contact_sheet import SheetRow, Tile, contact_sheet, write_png
from app.workflows import DEFAULT_WORKFLOW, FLASHING_WORKFLOW, load_workflow
from storage.durable import make_private_dir

log = logging.getLogger(__name__)

SHEET_NAME = "kiosk_contact_sheet.png"


@dataclass(frozen=True)
class KioskCase:
    label: str
    camera: str  # sim:SPECIES:SEED or a video file
    workflow: Path
    expected: str  # "Approved" or "Declined"
    what: str  # for a person reading the table


@dataclass
class KioskRun:
    case: KioskCase
    shots: Path
    line: dict[str, Any] = field(default_factory=dict)
    credential: str | None = None
    qr_matches: bool | None = None  # the QR decoded from the result screen is the credential
    live: Path | None = None  # the window with the live preview
    camera: Path | None = None  # a frame the camera saw
    colours: Path | None = None  # the challenge's colours as presented

    @property
    def status(self) -> str | None:
        s = self.line.get("status")
        return str(s) if s is not None else None

    @property
    def as_expected(self) -> bool:
        if self.status != self.case.expected:
            return False
        # Approved "with a QR code" only when the screen really showed the credential's code
        return self.case.expected != "Approved" or bool(self.credential and self.qr_matches)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.case.label, "camera": self.case.camera,
                "workflow": self.case.workflow.stem, "expected": self.case.expected,
                "status": self.status, "as_expected": self.as_expected,
                "qr_matches_credential": self.qr_matches,
                "liveness_score": self.line.get("liveness_score"),
                "warnings": self.line.get("warnings", []), "reason": self.line.get("reason"),
                "sequence": self.line.get("sequence"),
                "max_flash_error_ms": self.line.get("max_flash_error_ms"),
                "screenshots": str(self.shots)}


def kiosk_cases(video: Path, seed: int = 5) -> list[KioskCase]:
    return [
        KioskCase("sim:live", f"sim:live:{seed}", FLASHING_WORKFLOW, "Approved",
                  "simulated live person"),
        KioskCase("sim:print", f"sim:print:{seed}", FLASHING_WORKFLOW, "Declined",
                  "simulated print"),
        KioskCase("sim:retint2", f"sim:retint2:{seed}", FLASHING_WORKFLOW, "Declined",
                  "simulated re-tinting replay"),
        KioskCase("video", str(video), DEFAULT_WORKFLOW, "Approved",
                  f"sample video {video.name} (real portrait)"),
    ]


def _shots(folder: Path, screen: str) -> list[Path]:
    return sorted(folder.glob(f"[0-9][0-9][0-9]-{screen}.png"))


def run_kiosk_demo(video: Path, out: Path, say: Callable[[str], None],
                   pipeline: Any = None, seed: int = 5) -> list[KioskRun]:
    """The four runs, in `out` (our own folder: its kiosk parts are rebuilt every time)."""
    from app.lab.cli.kiosk_cmd import run_lab_kiosk
    from app.lab.datasets import face3d_dir
    from app.lab.simulation.flash.face_scene import FaceScene
    from app.paths import data_dir

    scene = FaceScene(face3d_dir(data_dir()))  # one scan, its poses rendered once for all runs
    home, screens = out / "home", out / "screens"
    for d in (home, screens):
        shutil.rmtree(d, ignore_errors=True)  # a fresh gallery each demo: the live face is new
    make_private_dir(screens)
    runs: list[KioskRun] = []
    for i, case in enumerate(kiosk_cases(video, seed), 1):
        shots = screens / f"{i}-{case.label.replace(':', '-')}"
        make_private_dir(shots)
        run = KioskRun(case, shots)
        say(f"kiosk (offscreen): {case.what} on the {case.workflow.stem} workflow "
            f"(expected {case.expected})")

        def report(line: dict[str, Any], outcome: Any, run: KioskRun = run) -> None:
            run.line = line
            res = outcome.result
            run.credential = res.credential if res is not None else None

        frames = KeptFrames()
        extra = SessionShots(shots, frames)
        run_lab_kiosk(case.camera, load_workflow(case.workflow), 1, shots, None, "en", home,
                      True, pipeline=pipeline, report=report, watch=extra,
                      wrap_capture=frames.wrap, sim_scene=scene)
        run.live, run.camera, run.colours = extra.live, extra.camera, extra.colours
        if run.credential:
            results = _shots(shots, "result")
            decoded = decode_qr(results[0]) if results else None
            run.qr_matches = decoded == run.credential
        runs.append(run)
    return runs


def _caption_result(run: KioskRun) -> str:
    status = run.status or "no verdict"
    if run.qr_matches:
        return f"result: {status}, QR = credential"
    codes = [w for w in run.line.get("warnings", []) if w != "POSSIBLE_DUPLICATED_FACE"]
    return f"result: {status}" + (f" ({codes[0]})" if codes else "")


def _picks(run: KioskRun) -> list[tuple[Path, str]]:
    """Consent, the challenge (else the live preview), what the camera saw, the result."""
    picks: list[tuple[Path, str]] = []
    consent = _shots(run.shots, "consent")
    if consent:
        picks.append((consent[0], "consent"))
    challenge = _shots(run.shots, "challenge")
    if run.colours is not None:
        picks.append((run.colours, "challenge: colours as presented"))
    elif challenge:
        picks.append((challenge[0], "challenge"))
    elif run.live is not None:
        picks.append((run.live, f"{run.live.stem.split('-', 1)[1]}: live preview"))
    if run.camera is not None:
        seen = (f"{run.case.label}, lit by the screen" if run.colours is not None
                else f"a frame of {Path(run.case.camera).name}")
        picks.append((run.camera, f"camera: {seen}"))
    results = _shots(run.shots, "result")
    if results:
        picks.append((results[0], _caption_result(run)))
    return picks


def sheet_rows(runs: list[KioskRun]) -> list[SheetRow]:
    rows: list[SheetRow] = []
    for i, run in enumerate(runs, 1):
        tiles = [Tile(np.asarray(im, dtype=np.uint8), cap) for p, cap in _picks(run)
                 if (im := cv2.imread(str(p), cv2.IMREAD_COLOR)) is not None]
        verdict = "as expected" if run.as_expected else "NOT AS EXPECTED"
        rows.append(SheetRow(f"{i}. {run.case.what}, {run.case.workflow.stem} workflow: "
                             f"{run.status} (expected {run.case.expected}, {verdict})", tiles))
    return rows


def write_contact_sheet(runs: list[KioskRun], path: Path) -> Path:
    title = "poh-lab demo: the kiosk offscreen (simulated faces and a sample video)"
    return write_png(path, contact_sheet(sheet_rows(runs), title))


def render_kiosk_rows(runs: list[KioskRun]) -> str:
    lines = [f"{'run':<12} {'workflow':<9} {'expected':<9} {'status':<10} {'live':>5} "
             f"{'QR':<4} {'outcome':<16} warnings"]
    for r in runs:
        score = r.line.get("liveness_score")
        qr = {True: "ok", False: "BAD", None: "-"}[r.qr_matches]
        outcome = "as expected" if r.as_expected else "NOT AS EXPECTED"
        warnings = ",".join(r.line.get("warnings", [])) or "-"
        if r.status is None and r.line.get("reason"):
            warnings = str(r.line["reason"])
        lines.append(f"{r.case.label:<12} {r.case.workflow.stem:<9} {r.case.expected:<9} "
                     f"{r.status or '-':<10} {(f'{score:.0f}' if score is not None else '-'):>5} "
                     f"{qr:<4} {outcome:<16} {warnings}")
    return "\n".join(lines)
