"""Faults of a session run, in a real `poh session run` subprocess killed with SIGKILL.

- killed after the verdict is signed and committed but before it is shown: the verdict is in the
  outbox exactly once, verifies, and its number is used up;
- killed inside the transaction: nothing is stored and no number is used up;
- a malformed workflow never starts a session (exit 2, no session recorded).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.kiosk.storage import db_key, db_path, device_key, open_database
from sync.verdict import verify_verdict_bytes
from sync.verdict_store import VerdictStore

ROOT = Path(__file__).resolve().parents[2]

# the lead wires these groups into app.cli.main; until then attach them here
_CLI = """
import sys
from app.cli import main, session_cmd
if "session" not in {g.name for g in main.app.registered_groups}:
    main.app.add_typer(session_cmd.app, name="session")
sys.exit(main.run(sys.argv[1:]))
"""


def _poh(args: list[str], fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("POH_FAULT", None)
    if fault:
        env["POH_FAULT"] = fault
    return subprocess.run([sys.executable, "-c", _CLI, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def portrait() -> Path:
    # a still image makes the shortest real session: the same frame until capture completes
    from app.paths import data_dir
    return data_dir() / "colour" / "grace_hopper.jpg"


def _store() -> VerdictStore:
    return VerdictStore(open_database(db_path(), db_key()))


def _args(workflow: Path, source: Path, vendor: str) -> list[str]:
    return ["session", "run", "--workflow", str(workflow), "--camera", str(source),
            "--vendor-data", vendor, "--json"]


def test_crash_after_signing_leaves_the_verdict_in_the_outbox_once(portrait: Path) -> None:
    from app.workflows import DEFAULT_WORKFLOW

    killed = _poh(_args(DEFAULT_WORKFLOW, portrait, "dave"), fault="verdict-after-commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout == ""  # nothing was shown
    store = _store()
    items = store.outbox()
    assert len(items) == 1
    verdict = verify_verdict_bytes(items[0].payload, device_key().public)
    assert verdict.vendor_data == "dave" and verdict.sequence == 1
    assert store.verdict_bytes(verdict.session_id) == items[0].payload

    # after the restart the next verdict gets the next number (no second session needed: the
    # numbering is the store's, tested against restarts in test_verdict_store)
    assert store.last_sequence() == 1 and store.outbox_sequences() == [1]


def test_crash_inside_the_transaction_stores_nothing(portrait: Path) -> None:
    from app.workflows import DEFAULT_WORKFLOW

    killed = _poh(_args(DEFAULT_WORKFLOW, portrait, "frank"), fault="verdict-before-commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store = _store()
    assert store.outbox() == [] and store.last_sequence() == 0


def test_malformed_workflow_never_starts_a_session(tmp_path: Path, portrait: Path) -> None:
    bad = tmp_path / "wf.json"
    bad.write_text('{"workflow_id": "x", "version": 1, "workflow_label": "x", '
                   '"features": [{"feature": "LIVENESS", "config": {"method": "BLINK"}}]}')
    out = _poh(_args(bad, portrait, "gina"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "features.0.config.method" in lines[0]
    assert not db_path().exists()  # not even the database was touched
