"""`poh kiosk --self-test VIDEO [--sessions N]`: the booth's own application, models and screen
run N whole sessions on a video file, unattended (a scripted person taps Start, consents and taps
Done), and print one JSON line per session. It answers "does this installed booth work?" where
no person stands in front of the camera, e.g. right after installing the bundle.

Nothing of it touches the booth: the sessions run in a temporary data folder, removed at the
end, and are signed with a throwaway key made for the run (device id `self-test-...`); each
verdict names its capture source `video_file`, so none can pass for a capture at the booth.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.capture.video_file import video_file_camera
from app.flow.worker import WorkerOutcome
from app.kiosk_main import KioskHooks, use_compiled_model_cache
from app.ui.person import WalkUpPerson
from app.workflows import Workflow
from storage.durable import make_private_dir
from sync.device_key import FileKeySlot, load_or_create

log = logging.getLogger(__name__)

MAX_SESSIONS = 100
# wraps the throwaway key in its file; the key and the file are deleted with the run
SELF_TEST_SECRET = b"poh kiosk self-test key: not a secret, never a booth's key"


def session_line(n: int, outcome: WorkerOutcome) -> dict[str, Any]:
    res = outcome.result
    v = res.verdict if res is not None else None
    return {
        "self_test_session": n,
        "end": str(outcome.end),
        "status": str(v.status) if v else None,
        "liveness_score": v.liveness.score if v and v.liveness else None,
        "warnings": [str(w) for w in v.warnings] if v else [],
        "capture_source": v.capture_source.model_dump(mode="json") if v else None,
        "device_id": v.device_id if v else None,
        "reason": v.reason if v else outcome.error,
    }


def _print_line(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


@contextmanager
def self_test_hooks(video: Path, sessions: int, workflow: Workflow | None,
                    report: Callable[[dict[str, Any]], None] = _print_line,
                    ) -> Iterator[KioskHooks]:
    """The hooks that run the kiosk on `video` for `sessions` sessions in a scratch folder."""
    from app.kiosk.config import load_config
    from app.kiosk.root import open_kiosk

    capture, source = video_file_camera(video)  # bad input before anything is opened
    with tempfile.TemporaryDirectory(prefix="poh-self-test-") as tmp:
        home = make_private_dir(Path(tmp) / "home")
        key = load_or_create(FileKeySlot(Path(tmp) / "self-test-device.key"), SELF_TEST_SECRET,
                             device_id=f"self-test-{secrets.token_hex(4)}")
        use_compiled_model_cache()
        kiosk = open_kiosk(load_config(), home, workflow=workflow, scratch_key=key)
        done = 0

        def on_session(outcome: WorkerOutcome) -> None:
            nonlocal done
            done += 1
            report(session_line(done, outcome))

        try:
            yield KioskHooks(capture=capture, source=source, kiosk=kiosk,
                             person=WalkUpPerson(sessions), max_sessions=sessions,
                             on_session=on_session,
                             window={"motion_wake": False, "countdown_s": 1})
        finally:
            kiosk.close()
