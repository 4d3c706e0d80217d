"""A booth is initialised once, on purpose; a missing, emptied or swapped database never passes
for a new booth (that would Approve an enrolled person again, make a new device key, restart
the verdict sequence and throw the face index snapshot away). Read commands create nothing;
every folder the kiosk creates is owner-only (0700)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from store_helpers import disk_state, unit_vectors

from app.capture.plan import make_plan
from app.capture.recording import Recording, plan_cues
from app.cli import main
from app.kiosk.config import load_config
from app.kiosk.storage import Storage, open_storage
from storage.booth import marker_path
from storage.config import StorageConfig
from storage.face_store import FaceStore
from storage.template_store import NewTemplate
from sync.device_key_store import MetaKeySlot

REPO = Path(__file__).resolve().parents[2]
CHILD_PATH = os.pathsep.join([str(REPO), str(Path(__file__).resolve().parent)])
CLI = "import sys\nfrom app.cli.main import run\nsys.exit(run(sys.argv[1:]))"
# a graph (and so an index snapshot on disk) from 50 templates on
SMALL_INDEX = {"storage": {"index": {"min_graph_size": 50, "m": 16, "ef_construction": 100}}}


def _poh(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main.run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture()
def home(_isolated_home: Path) -> Path:
    (_isolated_home / "config.json").write_text(json.dumps(SMALL_INDEX))
    return _isolated_home


def _open(home: Path, create: bool = True) -> Storage:
    return open_storage(home, load_config().storage, create=create)


def _gallery(home: Path) -> None:
    """An initialised booth with 120 enrolled templates, an index snapshot and a kept file."""
    storage = _open(home)
    try:
        storage.faces.add_many([NewTemplate("enrolled", f"p{i}", None, v)
                                for i, v in enumerate(unit_vectors(120, seed=3))])
        storage.faces.reindex()
    finally:
        storage.close()
    kept = home / "evidence"
    kept.mkdir(exist_ok=True)
    (kept / f"{uuid.uuid4()}.evidence").write_bytes(b"sealed recording")
    assert list((home / "index").glob("*.snap"))


def _other_booths_database(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap in a database made by another booth under the same key (POH_DB_KEY)."""
    key = (home / "keys" / "db.key").read_text().strip()
    monkeypatch.setenv("POH_DB_KEY", key)
    other = tmp_path / "other"
    with FaceStore.open(StorageConfig(home=other), other):
        pass
    shutil.copyfile(other / "poh.db", home / "poh.db")


READS = [
    ("db", "stats"), ("db", "reindex"), ("forget", "--vendor-data", "x"), ("keys", "rotate"),
    ("keys", "show", "--public"), ("verdict", "show", "1"), ("verdict", "outbox"),
    ("verdict", "verify", "VERDICT"), ("evidence", "list"), ("evidence", "prune"),
    ("search", "IMAGE"),
]


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_read_commands_on_a_fresh_home_create_nothing(
        args: tuple[str, ...], _isolated_home: Path, tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    verdict = tmp_path / "verdict.json"
    verdict.write_text("{}")
    argv = [{"VERDICT": str(verdict), "IMAGE": str(data_dir / "colour" / "obama.jpg")}.get(a, a)
            for a in args]
    code, _, err = _poh(capsys, *argv)
    assert code == 2
    assert "not initialised" in _one_line(err) and "poh db init" in err
    assert list(_isolated_home.iterdir()) == []  # no database, key, device key or folder


def test_a_missing_data_folder_is_not_created_by_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "nowhere" / "home"
    monkeypatch.setenv("POH_HOME", str(home))
    for args in (("db", "stats"), ("keys", "show", "--public"), ("evidence", "list")):
        assert _poh(capsys, *args)[0] == 2
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("damage", ["emptied", "missing", "swapped"])
def test_a_lost_database_is_an_error_and_nothing_is_deleted(
        damage: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _gallery(home)
    if damage == "emptied":
        (home / "poh.db").write_bytes(b"")
    elif damage == "missing":
        (home / "poh.db").unlink()
    else:
        _other_booths_database(home, tmp_path, monkeypatch)
    before = disk_state(home)
    photo = str(data_dir / "colour" / "obama.jpg")
    for args in (("db", "stats"), ("keys", "show", "--public"), ("verdict", "outbox"),
                 ("enroll", photo, "--vendor-data", "p0"), ("db", "init")):
        code, _, err = _poh(capsys, *args)
        line = _one_line(err)
        assert code == 2, (args, err)
        assert "poh db init --force" in line and "nothing was changed" in line
        assert ("not this booth's database" if damage == "swapped" else damage.replace(
            "emptied", "empty")) in line
    # the snapshot (the last copy of the gallery), the key, the marker, the kept recording
    assert disk_state(home) == before


def test_force_sets_the_old_booth_aside_and_starts_a_new_one(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _gallery(home)
    old_marker = json.loads(marker_path(home / "poh.db").read_text())
    snapshots = {p.name: p.read_bytes() for p in (home / "index").glob("*.snap")}
    (home / "poh.db").write_bytes(b"")
    code, out, err = _poh(capsys, "db", "init", "--force", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["status"] == "created" and res["booth_id"] != old_marker["booth_id"]
    aside = Path(res["set_aside"])
    assert aside.parent == home and _mode(aside) == 0o700
    assert {p.name: p.read_bytes() for p in (aside / "index").glob("*.snap")} == snapshots
    assert json.loads((aside / "keys" / "poh.db.booth").read_text()) == old_marker
    assert (aside / "keys" / "db.key").read_bytes() == (home / "keys" / "db.key").read_bytes()
    assert len(list((aside / "evidence").iterdir())) == 1
    assert (aside / "poh.db").stat().st_size == 0
    code, out, _ = _poh(capsys, "db", "stats", "--json")
    assert code == 0 and json.loads(out)["templates"] == {"enrolled": 0, "blocklist": 0}
    code, out, _ = _poh(capsys, "db", "init", "--json")  # once initialised, init changes nothing
    assert code == 0 and json.loads(out)["status"] == "already initialised"
    assert json.loads(out)["booth_id"] == res["booth_id"]


def test_remains_of_a_lost_booth_are_not_initialised_over(
        home: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _gallery(home)
    (home / "poh.db").unlink()
    marker_path(home / "poh.db").unlink()  # all that is left: key, snapshots, recordings
    before = disk_state(home)
    for args in (("enroll", str(data_dir / "colour" / "obama.jpg"), "--vendor-data", "x"),
                 ("db", "init"), ("db", "stats")):
        code, _, err = _poh(capsys, *args)
        assert code == 2 and "earlier booth" in _one_line(err), err
    assert disk_state(home) == before
    assert _poh(capsys, "db", "init", "--force")[0] == 0


def test_a_writing_command_initialises_a_pristine_home_once(
        _isolated_home: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _poh(capsys, "enroll", str(data_dir / "colour" / "obama.jpg"),
                        "--vendor-data", "obama")
    assert code == 0, err
    marker = json.loads(marker_path(_isolated_home / "poh.db").read_text())
    storage = _open(_isolated_home, create=False)
    try:  # initialisation made the device key: a later read creates nothing
        assert MetaKeySlot(storage.db).read() is not None
        assert storage.db.booth_id == marker["booth_id"]
    finally:
        storage.close()
    before = disk_state(_isolated_home)
    assert _poh(capsys, "keys", "show", "--public")[0] == 0
    assert disk_state(_isolated_home) == before


def test_a_database_from_before_markers_is_adopted(home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _gallery(home)
    storage = _open(home)
    try:
        with storage.db.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'booth_id'")
    finally:
        storage.close()
    marker_path(home / "poh.db").unlink()
    code, out, err = _poh(capsys, "db", "stats", "--json")
    assert code == 0, err
    assert json.loads(out)["templates"]["enrolled"] == 120
    assert marker_path(home / "poh.db").is_file()


def _run_parallel(args: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    procs = [subprocess.Popen([sys.executable, "-c", *a], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=os.environ | {"PYTHONPATH": CHILD_PATH} | env) for a in args]
    out = []
    for p in procs:
        o, e = p.communicate(timeout=120)
        out.append((p.returncode, o, e))
    return out


INIT = """
import json, sys
from pathlib import Path
from app.kiosk.storage import init_home
from storage.config import StorageConfig
res = init_home(Path(sys.argv[1]), StorageConfig())
print(json.dumps({"status": res.status, "booth_id": res.booth_id, "key_id": res.key_id}))
"""


def test_racing_processes_initialise_once(tmp_path: Path) -> None:
    for round_ in range(2):
        home = tmp_path / f"home{round_}"
        runs = _run_parallel([[INIT, str(home)]] * 5, {})
        assert all(code == 0 for code, _, _ in runs), [e[-300:] for _, _, e in runs]
        results = [json.loads(o) for _, o, _ in runs]
        assert sorted(r["status"] for r in results) == ["already initialised"] * 4 + ["created"]
        assert len({r["booth_id"] for r in results}) == 1
        assert len({r["key_id"] for r in results}) == 1  # one device key


LIBRARY_OPEN = """
import sys
from pathlib import Path
from storage.config import StorageConfig
from storage.face_store import FaceStore
home = Path(sys.argv[1])
with FaceStore.open(StorageConfig(home=home), home) as store:
    print(store.stats().schema_version)
"""


def test_racing_first_opens_of_a_new_database_all_succeed(tmp_path: Path) -> None:
    """The storage library too: two processes creating one database both see schema version 0
    first ('table meta already exists' for the second, before)."""
    for round_ in range(2):
        home = tmp_path / f"lib{round_}"
        runs = _run_parallel([[LIBRARY_OPEN, str(home)]] * 6, {})
        assert [code for code, _, _ in runs] == [0] * 6, [e[-300:] for _, _, e in runs]
        assert marker_path(home / "poh.db").is_file()


def test_racing_reads_on_a_fresh_home_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    home.mkdir()
    runs = _run_parallel([[CLI, "db", "stats"]] * 3, {"POH_HOME": str(home)})
    assert [code for code, _, _ in runs] == [2] * 3
    assert all("not initialised" in e for _, _, e in runs)
    assert list(home.iterdir()) == []


@pytest.fixture()
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _rec() -> Recording:
    plan = make_plan("FLASHING", bytes(range(16)))
    cols, acts = plan_cues(plan, 1.0)
    times = tuple(1.0 + i / 30 for i in range(5))
    frames = tuple(np.full((16, 16, 3), i, np.uint8) for i in range(5))
    return Recording("FLASHING", plan.nonce, 30.0, times, frames, cols, acts)


def test_every_folder_the_kiosk_creates_is_owner_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None) -> None:
    home = tmp_path / "srv" / "poh" / "home"
    monkeypatch.setenv("POH_HOME", str(home))
    monkeypatch.setenv("POH_CONFIG", str(tmp_path / "config.json"))
    (tmp_path / "config.json").write_text(json.dumps(SMALL_INDEX))
    _gallery(home)  # initialises the booth, builds an index snapshot
    for folder in (tmp_path / "srv", tmp_path / "srv" / "poh", home, home / "keys",
                   home / "index"):
        assert _mode(folder) == 0o700, folder
    # kept recordings: the folder, and an export of one (plain face images)
    storage = _open(home, create=False)
    try:
        shutil.rmtree(home / "evidence")
        store = storage.evidence()
        sid = str(uuid.uuid4())
        store.keep(sid, _rec())
        assert _mode(home / "evidence") == 0o700
        out = tmp_path / "export" / "rec"
        store.export(sid, out)
        assert _mode(out) == 0o700
        assert {_mode(p) for p in out.iterdir()} == {0o600}
    finally:
        storage.close()
    # a scratch folder (lab, demo) opened by a writing command
    scratch = tmp_path / "lab" / "scratch"
    _open(scratch).close()
    assert _mode(tmp_path / "lab") == _mode(scratch) == 0o700
