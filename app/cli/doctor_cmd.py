"""`poh doctor [--json] [--camera DEVICE | --no-camera]`: one line per health check of the booth
(models, database, key permissions, disk, camera, clock, outbox, broker); exit 1 when any
check fails (a warning alone exits 0). The checks are in app.kiosk.doctor(_fleet)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli.common import JsonOpt, emit

MARK = {"ok": "ok  ", "warn": "warn", "FAIL": "FAIL", "skip": "skip"}


def _human(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["check"]) for r in rows)
    return "\n".join(f"{MARK[r['status']]}  {r['check']:<{width}}  {r['detail']}" for r in rows)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        camera: Annotated[str, typer.Option(
            "--camera", help="The booth camera: an OpenCV index (0) or /dev/videoN.")] = "0",
        no_camera: Annotated[bool, typer.Option(
            "--no-camera", help="Skip the camera check (a machine without the booth camera).")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Check the booth: models, database, key permissions, disk, camera, clock, fleet."""
        from app.cli.context import kiosk_config
        from app.kiosk import doctor as d
        from app.kiosk import doctor_fleet as f
        from app.paths import models_dir, poh_home

        home = poh_home()
        cfg = kiosk_config().storage
        checks = [d.guarded("models", lambda: d.check_models(models_dir()))]
        db_check, booth = d.open_booth(home, cfg)
        try:
            checks += [
                db_check,
                d.guarded("key permissions", lambda: d.check_key_permissions(home, cfg)),
                d.guarded("disk", lambda: d.check_disk(home)),
                d.guarded("camera", lambda: d.check_camera(
                    None if no_camera else camera, booth, cfg.paths(home).db)),
                d.guarded("clock", lambda: d.check_clock(booth)),
            ]
            member, bad = f.membership(home)
            if bad is not None:
                checks.append(bad)
            checks += [d.guarded("outbox", lambda: f.check_outbox(member, booth)),
                       d.guarded("broker", lambda: f.check_broker(member, booth))]
        finally:
            if booth is not None:
                booth.db.close()
        rows = [c.to_json() for c in checks]
        emit(rows, as_json, _human)
        if any(c.status == "FAIL" for c in checks):
            raise typer.Exit(1)
