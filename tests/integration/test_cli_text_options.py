"""Free text and folders given on the command line are checked the same way everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.lab.cli import main as lab_main
from app.workflows import DEFAULT_WORKFLOW


@pytest.mark.parametrize("vendor", ["bad\udcffbytes", "tab\there", "", "x" * 501])
def test_enroll_refuses_text_a_verdict_could_not_carry(vendor: str, data_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    code = main.run(["enroll", str(data_dir / "colour" / "obama.jpg"), "--vendor-data", vendor])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--vendor-data" in err


def test_a_file_given_as_the_lab_folder_is_refused(tmp_path: Path, data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code = lab_main.run(["session", "run", "--workflow", str(DEFAULT_WORKFLOW), "--camera",
                         str(data_dir / "colour" / "obama.jpg"), "--vendor-data", "v",
                         "--home", str(not_a_folder)])
    err = capsys.readouterr().err
    assert code == 2 and "not a folder" in err and err.count("\n") == 1
