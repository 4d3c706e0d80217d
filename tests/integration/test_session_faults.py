"""Faults of a session run, in a real `poh-lab session run` subprocess killed with SIGKILL
(a session on a still image runs in the lab: its own data folder, its scratch key).

- killed after the verdict is signed and committed but before it is shown: the verdict is in the
  outbox exactly once, verifies, and its number is used up;
- killed inside the transaction: nothing is stored and no number is used up;
- a malformed workflow never starts a session (exit 2, no session recorded).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.kiosk.storage import open_database
from storage.config import StorageConfig
from sync.device_key import public_key_from_jwk
from sync.verdict import verify_verdict_bytes
from sync.verdict_store import VerdictStore

ROOT = Path(__file__).resolve().parents[2]

_CLI = """
import sys
from app.lab.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def _poh_lab(args: list[str], fault: str | None = None) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    """The lab's data folder for the sessions of one test."""
    return tmp_path / "lab"


def _store(lab: Path) -> VerdictStore:
    return VerdictStore(open_database(lab, StorageConfig()))


def _scratch_public_key(lab: Path) -> Ed25519PublicKey:
    """The lab's scratch signing key, from the public JWK it writes next to its database."""
    return public_key_from_jwk(json.loads((lab / "scratch-device.jwk.json").read_text()))


def _args(lab: Path, workflow: Path, source: Path, vendor: str) -> list[str]:
    return ["session", "run", "--home", str(lab), "--workflow", str(workflow),
            "--camera", str(source), "--vendor-data", vendor, "--json"]


def test_crash_after_signing_leaves_the_verdict_in_the_outbox_once(portrait: Path,
                                                                   lab: Path) -> None:
    from app.workflows import DEFAULT_WORKFLOW

    killed = _poh_lab(_args(lab, DEFAULT_WORKFLOW, portrait, "dave"),
                      fault="verdict-after-commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout == ""  # nothing was shown
    store = _store(lab)
    items = store.outbox()
    assert len(items) == 1
    verdict = verify_verdict_bytes(items[0].payload, _scratch_public_key(lab))
    assert verdict.vendor_data == "dave" and verdict.sequence == 1
    assert store.verdict_bytes(verdict.session_id) == items[0].payload

    # after the restart the next verdict gets the next number (no second session needed: the
    # numbering is the store's, tested against restarts in test_verdict_store)
    assert store.last_sequence() == 1 and store.outbox_sequences() == [1]


def test_crash_inside_the_transaction_stores_nothing(portrait: Path, lab: Path) -> None:
    from app.workflows import DEFAULT_WORKFLOW

    killed = _poh_lab(_args(lab, DEFAULT_WORKFLOW, portrait, "frank"),
                      fault="verdict-before-commit")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store = _store(lab)
    assert store.outbox() == [] and store.last_sequence() == 0


def test_malformed_workflow_never_starts_a_session(tmp_path: Path, portrait: Path,
                                                   lab: Path) -> None:
    bad = tmp_path / "wf.json"
    bad.write_text('{"workflow_id": "x", "version": 1, "workflow_label": "x", '
                   '"features": [{"feature": "LIVENESS", "config": {"method": "BLINK"}}]}')
    out = _poh_lab(_args(lab, bad, portrait, "gina"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "features.0.config.method" in lines[0]
    assert not StorageConfig().paths(lab).db.exists()  # not even the database was touched
