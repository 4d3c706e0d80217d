"""`poh check IMAGE`: passive liveness, quality cues and age for one image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit
from app.errors import BadInputError


def _human(r: dict[str, Any]) -> str:
    live = r["liveness"]
    codes = ", ".join(w["code"] for w in live["warnings"]) or "none"
    lines = [
        f"status    {r['status']}",
        f"liveness  {live['status']} (PASSIVE), score {live['score']:.0f}/100, warnings: {codes}",
        f"faces     {r['faces_detected']}",
    ]
    if r["face"] is not None:
        lines.append(f"face box  {r['face']['box']}")
    age = r["age"]
    if age["age_estimation"] is not None:
        lines.append(f"age       about {age['age_estimation']:.0f}")
    for cue in r["quality"]["cues"]:
        lines.append(f"cue       {cue['code']}: {cue['instruction']['en']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        image: Annotated[Path, typer.Argument(help="A photo (JPEG, PNG, ...) of one face.")],
        workflow: Annotated[
            Path | None, typer.Option("--workflow", help="Workflow JSON (thresholds, min age).")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Passive liveness (one frame), face box, quality and lighting cues, age estimate."""
        from app.capture.images import load_image
        from app.checks.passive_check import check_frame
        from app.cli.context import kiosk_config, pipeline
        from app.kiosk.root import passive_liveness

        frame = load_image(image)
        cfg = kiosk_config()
        decline: float | None = None
        min_age: int | None = None
        if workflow is not None:
            from app.workflows.loader import WorkflowError, load_workflow

            try:
                wf = load_workflow(workflow)
            except WorkflowError as exc:
                raise BadInputError(str(exc)) from exc
            decline = wf.face_liveness_score_decline_threshold
            age_feature = wf.age
            min_age = age_feature.config.min_age if age_feature is not None else None
        result = check_frame(
            frame,
            pipeline(cfg),
            passive_liveness(cfg.passive_liveness, decline),
            cfg.quality,
            min_age=min_age,
        )
        emit(result, as_json, _human)
