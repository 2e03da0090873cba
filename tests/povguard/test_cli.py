"""The ``povguard`` command an operator runs: its commands are all reachable from the top."""

from typer.testing import CliRunner

from povguard.cli import app

runner = CliRunner()


def test_top_level_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "migrate", "demo-data", "serve", "worker", "create-user", "monitoring"):
        assert command in result.output


def test_monitoring_operations_are_wired_under_povguard_monitoring() -> None:
    result = runner.invoke(app, ["monitoring", "--help"])
    assert result.exit_code == 0
    assert "rebuild" in result.output
    assert "follow" in result.output


def test_serve_refuses_an_unknown_service_by_name() -> None:
    result = runner.invoke(app, ["serve", "payroll"])
    assert result.exit_code != 0
    assert "payroll" in result.output
