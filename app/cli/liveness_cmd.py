"""`poh liveness analyze`: active liveness of a capture recording."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit

app = typer.Typer(help="Liveness analysis of capture recordings.", no_args_is_help=True)


def _human_active(doc: dict[str, Any]) -> str:
    lines = [f"{doc['method']}: {doc['status']} (score {doc['score']})"]
    if doc["warnings"]:
        lines.append("warnings: " + ", ".join(w["code"] for w in doc["warnings"]))
    for k, v in doc["figures"].items():
        lines.append(f"  {k}: {v}")
    return "\n".join(lines)


@app.command("analyze")
def analyze(
    recording: Annotated[Path, typer.Argument(help="Capture recording folder (capture.json).")],
    as_json: JsonOpt = False,
) -> None:
    """Active liveness (FLASHING, ACTIVE_3D) of a capture recording."""
    from app.capture.analyze import analyze_recording
    from app.capture.recording import RecordingError, read_recording
    from app.cli.context import kiosk_config, pipeline
    from app.errors import BadInputError
    from app.kiosk.root import active_analyzer

    try:
        rec = read_recording(recording)
        cfg = kiosk_config()
        # the cues were recorded as presented; the camera saw them the calibrated delay later
        result = analyze_recording(active_analyzer(cfg, pipeline(cfg)), rec,
                                   cfg.challenge.display_delay_s)
    except RecordingError as exc:
        raise BadInputError(f"bad recording: {exc}") from exc
    emit(result.to_dict(), as_json, _human_active)
