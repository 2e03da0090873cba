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


def test_healthcheck_fails_when_nothing_answers_and_passes_when_healthz_does() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert runner.invoke(app, ["healthcheck", f"{base}/healthz"]).exit_code == 0
        missing = runner.invoke(app, ["healthcheck", f"{base}/nowhere"])
        assert missing.exit_code == 1
        assert "unhealthy" in missing.output
    finally:
        server.shutdown()
