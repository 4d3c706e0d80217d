"""The kiosk configuration file: defaults when absent, one-line errors naming the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import BadInputError
from app.kiosk.config import load_config


def test_defaults_and_a_section_override(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text('{"evidence": {"max_age_days": 7}}')
    cfg = load_config(p)
    assert cfg.evidence.max_age_days == 7 and cfg.evidence.max_total_mb == 2048
    assert cfg.storage.index.ef_search == 192


@pytest.mark.parametrize(("text", "expected"), [
    ("{", "not readable JSON"),
    ('{"evidence": {"max_age_days": 1, "max_age_days": 2}}', "max_age_days: key appears twice"),
    ('{"evidence": {"max_days": 1}}', "evidence.max_days: unknown field"),
    ('{"evidence": {"max_age_days": -1}}', "evidence.max_age_days: Input should be greater"),
    ('{"storage": {"index": {"m": "many"}}}', "storage.index.m: "),
])
def test_bad_files_name_the_field_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    p = tmp_path / "config.json"
    p.write_text(text)
    with pytest.raises(BadInputError) as err:
        load_config(p)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        load_config(tmp_path / "nope.json")


def test_screen_halves_is_on_by_default_and_takes_a_boolean(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text("{}")
    default = load_config(p).active_liveness
    assert default.screen_halves is True
    p.write_text('{"active_liveness": {"screen_halves": false}}')
    off = load_config(p).active_liveness
    assert off.screen_halves is False
    assert off.flash() == default.flash() and off.actions() == default.actions()


@pytest.mark.parametrize("value", ['"true"', "1", "0", "null", '"yes"', "[true]"])
def test_screen_halves_refuses_anything_but_a_boolean(tmp_path: Path, value: str) -> None:
    p = tmp_path / "config.json"
    p.write_text(f'{{"active_liveness": {{"screen_halves": {value}}}}}')
    with pytest.raises(BadInputError) as err:
        load_config(p)
    msg = str(err.value)
    assert "active_liveness.screen_halves: Input should be a valid boolean" in msg
    assert "\n" not in msg
