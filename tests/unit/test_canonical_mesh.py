"""The pose reference asset is exactly MediaPipe's Procrustes basis from face_landmarker.task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.paths import cache_dir
from inference.canonical_mesh import (
    POSE_REFERENCE_PATH,
    load_pose_reference,
    metadata_from_task,
    parse_geometry_metadata,
    write_pose_reference,
)
from inference.manifest import entry
from inference.packages import package_archive, read_member


def _metadata() -> bytes:
    landmarks = entry("face_landmarks")
    archive = package_archive(landmarks.source, cache_dir())
    return metadata_from_task(read_member(archive, landmarks.member))


def test_asset_matches_the_task_file(tmp_path: Path) -> None:
    data = _metadata()
    mesh, basis = parse_geometry_metadata(data)
    assert mesh.shape == (468, 3)
    assert len(basis) == 33
    # Symmetric face: eye corners 33 and 263 mirror each other across x = 0.
    assert np.allclose(mesh[33] * [-1, 1, 1], mesh[263], atol=1e-4)
    ids, weights, xyz = load_pose_reference()
    assert ids.tolist() == [lid for lid, _ in basis]
    assert np.allclose(weights, [w for _, w in basis], atol=1e-8)
    assert np.allclose(xyz, mesh[ids], atol=1e-5)
    regenerated = write_pose_reference(data, tmp_path / "ref.json")
    assert json.loads(regenerated.read_text()) == json.loads(POSE_REFERENCE_PATH.read_text())
