"""Face-index builds report their stages through a plain callback (the CLI draws it; storage
imports nothing of the CLI): reindex, bulk import and a build at open; an exact-search kind
(below min_graph_size) takes no time and reports nothing."""

from __future__ import annotations

from pathlib import Path

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
