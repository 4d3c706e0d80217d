"""Face-index builds report their stages through a plain callback (the CLI draws it; storage
imports nothing of the CLI): reindex, bulk import and a build at open; an exact-search kind
(below min_graph_size) takes no time and reports nothing; `poh db reindex` draws them on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_helpers import small_config, unit_vectors

from storage.face_store import FaceStore
from storage.index_manager import REBUILD_STAGES
from storage.template_store import NewTemplate

VECS = unit_vectors(80, seed=5)
STAGES = [(1, REBUILD_STAGES), (2, REBUILD_STAGES), (3, REBUILD_STAGES)]


def _templates() -> list[NewTemplate]:
    return [NewTemplate("enrolled", f"p{i}", None, v) for i, v in enumerate(VECS[:60])]


def test_bulk_import_and_reindex_report_the_graph_builds_stages(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        store.bulk_import([_templates()], progress=lambda d, t: seen.append((d, t)))
        assert seen == STAGES  # the enrolled graph; the empty blocklist is exact: no report
        seen.clear()
        store.reindex(progress=lambda d, t: seen.append((d, t)))
        assert seen == STAGES


def test_a_build_at_open_reports_through_rebuild_progress(tmp_path: Path) -> None:
    with FaceStore.open(small_config(tmp_path), tmp_path) as store:
        store.bulk_import([_templates()])
    (tmp_path / "index" / "faces-enrolled.snap").unlink()  # the next open must build
    seen: list[tuple[int, int]] = []
    with FaceStore.open(small_config(tmp_path), tmp_path,
                        rebuild_progress=lambda d, t: seen.append((d, t))) as store:
        assert store.index_manager.last_start["enrolled"] == "built: no snapshot"
    assert seen == STAGES


def test_an_exact_search_index_reports_nothing(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with FaceStore.open(small_config(tmp_path, min_graph_size=1000), tmp_path,
                        rebuild_progress=lambda d, t: seen.append((d, t))) as store:
        store.bulk_import([_templates()])
        store.reindex()
    assert seen == []


def test_poh_db_reindex_shows_the_stages_on_stderr_and_keeps_json_clean(
        _isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.context import kiosk_config
    from app.cli.main import run
    from app.kiosk.storage import open_storage

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"storage": {"index": {"min_graph_size": 50}}}))
    monkeypatch.setenv("POH_CONFIG", str(config))
    monkeypatch.setenv("POH_PROGRESS", "lines")  # as in a log
    assert run(["db", "init", "--json"]) == 0
    storage = open_storage(_isolated_home, kiosk_config().storage)
    try:
        storage.faces.bulk_import([_templates()])
    finally:
        storage.close()
    capsys.readouterr()
    assert run(["db", "reindex"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("face index build stages: 3/3 (100%), ")
    assert "left" not in err[0]  # unequal stages: no time left guessed
    assert run(["db", "reindex", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["index"]["enrolled"]["graph_size"] == 60
