"""The CLI's shared contract, whatever the sub-command: --version, -v anywhere, JSON errors under
--json, exit 130 on Ctrl-C."""

from __future__ import annotations

import json

import pytest
import typer

from app.cli.main import EXIT_INTERRUPTED, package_version, run_app


def _app() -> tuple[typer.Typer, list[int]]:
    seen: list[int] = []
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def top(verbose: int = typer.Option(0, "--verbose", "-v", count=True)) -> None:
        seen.append(verbose)

    @app.command()
    def hello(json_out: bool = typer.Option(False, "--json"), n: int = 1) -> None:
        if n < 0:
            raise typer.BadParameter("n must not be negative")

    @app.command()
    def interrupt() -> None:
        raise KeyboardInterrupt

    return app, seen


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = _app()
    assert run_app(app, "poh", ["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"poh {package_version()}"


def test_verbose_after_a_sub_command_is_accepted() -> None:
    app, seen = _app()
    assert run_app(app, "poh", ["hello", "-v", "--n", "2", "-v"]) == 0
    assert seen == [2]


def test_errors_are_json_under_json(capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = _app()
    assert run_app(app, "poh", ["hello", "--json", "--n", "x"]) == 2
    err = json.loads(capsys.readouterr().err)
    assert err["error"]["exit_code"] == 2 and "--n" in err["error"]["message"]


def test_errors_are_one_line_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = _app()
    assert run_app(app, "poh", ["hello", "--n", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("poh: error: ") and err.count("\n") == 1


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = _app()
    assert run_app(app, "poh", ["interrupt"]) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
