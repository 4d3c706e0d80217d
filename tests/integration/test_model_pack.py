"""Offline model packs through the real `poh models export|import` CLI, on the real models: a
pack round-trips, and a wrong, damaged or tampered pack is refused before anything is replaced."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from app.cli.main import run
from inference.manifest import load_manifest
from inference.model_pack import INDEX_NAME
from inference.model_store import EMBEDDER_IR, list_models, sha256_file


@pytest.fixture(scope="module")
def pack(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "models.pohpack"
    assert run(["models", "export", str(out)]) == 0  # POH_MODELS_DIR: the verified cache
    return out


def _members(pack: Path) -> dict[str, bytes]:
    with tarfile.open(pack) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def _write_pack(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _import(target: Path, pack: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("POH_MODELS_DIR", str(target))
    capsys.readouterr()
    code = run(["models", "import", str(pack)])
    # the error lines only (a progress line says where the import goes first)
    err = capsys.readouterr().err
    return code, "\n".join(line for line in err.splitlines() if not line.startswith("importing"))


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in folder.iterdir() if p.is_file()}


def test_round_trip_into_an_empty_folder(pack: Path, models_dir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "booth-models"
    code, err = _import(target, pack, monkeypatch, capsys)
    assert code == 0, err
    assert all(s.verified for s in list_models(target))
    # the embedder's IR is made again from the verified model, identical to the fetched one
    for name in (EMBEDDER_IR, Path(EMBEDDER_IR).with_suffix(".bin").name):
        assert sha256_file(target / name) == sha256_file(models_dir / name)
    assert sorted(p.name for p in target.iterdir() if p.name.startswith(".import-")) == []
    # exactly the manifest's files and the IR: no index, no staging folder left behind
    assert {p.name for p in target.iterdir()} == {e.file for e in load_manifest()} | {
        EMBEDDER_IR, Path(EMBEDDER_IR).with_suffix(".bin").name, EMBEDDER_IR + ".source-sha256"}


def test_import_repairs_a_damaged_model(pack: Path, models_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = shutil.copytree(models_dir, tmp_path / "m")
    age = target / "age-v1.onnx"
    age.write_bytes(age.read_bytes()[:-10] + b"0123456789")
    assert not {s.name: s.verified for s in list_models(target)}["age"]
    code, err = _import(target, pack, monkeypatch, capsys)
    assert code == 0, err
    assert all(s.verified for s in list_models(target))


def test_tampered_model_is_refused_and_nothing_replaced(
        pack: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    members = _members(pack)
    # the last model of the manifest is changed: every model before it verified, yet none may
    # have been moved into place
    last = load_manifest()[-1].file
    data = bytearray(members[f"models/{last}"])
    data[len(data) // 2] ^= 0xFF
    members[f"models/{last}"] = bytes(data)
    bad = _write_pack(tmp_path / "bad.pohpack", members)
    target = shutil.copytree(models_dir, tmp_path / "m")
    (target / "face_detection_short_range.tflite").write_bytes(b"old, damaged")
    before = _snapshot(target)
    code, err = _import(target, bad, monkeypatch, capsys)
    assert code == 2
    assert last in err and "sha256" in err and "nothing was replaced" in err
    assert len(err.strip().splitlines()) == 1
    assert _snapshot(target) == before
    assert not [p for p in target.iterdir() if p.name.startswith(".import-")]


def test_pack_made_for_other_models_is_refused(pack: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    members = _members(pack)
    index = json.loads(members[INDEX_NAME])
    index["models"][0]["sha256"] = "0" * 64
    members[INDEX_NAME] = json.dumps(index).encode()
    code, err = _import(tmp_path / "m", _write_pack(tmp_path / "other.pohpack", members),
                        monkeypatch, capsys)
    assert code == 2 and "made for other models" in err
    assert not (tmp_path / "m" / load_manifest()[0].file).exists()


@pytest.mark.parametrize("case", ["not_a_tar", "truncated", "no_index", "missing_model",
                                  "link_member", "wrong_format"])
def test_wrong_or_damaged_pack_is_a_clear_error(case: str, pack: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    members = _members(pack)
    victim = f"models/{load_manifest()[2].file}"
    path = tmp_path / f"{case}.pohpack"
    if case == "not_a_tar":
        path.write_bytes(b"this is a photo, not a pack\n" * 100)
        expected = "not a model pack"
    elif case == "truncated":
        path.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
        expected = "pack"
    elif case == "no_index":
        del members[INDEX_NAME]
        _write_pack(path, members)
        expected = "not a model pack"
    elif case == "missing_model":
        del members[victim]
        _write_pack(path, members)
        expected = "missing from the pack"
    elif case == "wrong_format":
        members[INDEX_NAME] = json.dumps({"format": "zip", "version": 1, "models": []}).encode()
        _write_pack(path, members)
        expected = "not a model pack"
    else:  # a link where a model should be: never followed
        del members[victim]
        _write_pack(path, members)
        with tarfile.open(path, "a") as tar:
            info = tarfile.TarInfo(victim)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        expected = "not a regular file"
    target = tmp_path / "m"
    code, err = _import(target, path, monkeypatch, capsys)
    assert code == 2, err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not target.exists() or not any(p.is_file() for p in target.iterdir())


def test_export_refuses_an_existing_file_and_an_unverified_set(
        models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "taken.pohpack"
    existing.write_bytes(b"keep me")
    capsys.readouterr()
    assert run(["models", "export", str(existing)]) == 2
    assert "exists already" in capsys.readouterr().err and existing.read_bytes() == b"keep me"

    broken = shutil.copytree(models_dir, tmp_path / "m")
    (broken / "age-v1.onnx").unlink()
    monkeypatch.setenv("POH_MODELS_DIR", str(broken))
    assert run(["models", "export", str(tmp_path / "new.pohpack")]) == 2
    assert "age" in capsys.readouterr().err
    assert not (tmp_path / "new.pohpack").exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []
