"""The ``povguard`` command an operator runs: its commands are all reachable from the top."""

from typing import Any

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


def _operator_env(monkeypatch, settings) -> None:
    from shared.settings import get_settings

    monkeypatch.setenv("POVGUARD_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("POVGUARD_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("POVGUARD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("POVGUARD_QUEUE_NAME", settings.queue_name + ":cli")
    get_settings.cache_clear()


def test_worker_check_is_a_health_probe_for_orchestrators(monkeypatch, settings) -> None:
    import asyncio

    from shared import jobs
    from shared.settings import get_settings

    _operator_env(monkeypatch, settings)
    key = settings.queue_name + ":cli:health-check"

    async def set_key(present: bool) -> None:
        redis = await jobs.create_queue(settings)
        await (redis.set(key, b"j_complete=0", ex=30) if present else redis.delete(key))
        await redis.aclose()

    try:
        asyncio.run(set_key(False))
        assert runner.invoke(app, ["worker", "--check"]).exit_code == 1
        asyncio.run(set_key(True))
        healthy = runner.invoke(app, ["worker", "--check"])
        assert healthy.exit_code == 0, healthy.output
    finally:
        asyncio.run(set_key(False))
        get_settings.cache_clear()


def test_serve_stops_gracefully_and_logs_through_povguard(monkeypatch, settings) -> None:
    import uvicorn

    from shared.settings import get_settings

    _operator_env(monkeypatch, settings)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: seen.update(kwargs, target=target))
    monkeypatch.setattr(
        "shared.logging.configure_logging", lambda service: seen.update(logging=service)
    )
    try:
        result = runner.invoke(app, ["serve", "funds"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["target"] == "services.funds.app:create_app"
    # SIGTERM: in-flight requests get 25 s to finish; uvicorn's own access log is replaced
    # by ours (route templates, request ids) and its logging config by ours.
    assert seen["timeout_graceful_shutdown"] == 25
    assert seen["access_log"] is False
    assert seen["log_config"] is None
    assert seen["logging"] == "funds"


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


def test_audit_verify_prints_one_line_per_service(monkeypatch, settings) -> None:
    _operator_env(monkeypatch, settings)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["registry", "monitoring", "funds"]
    assert all(": ok, " in line for line in lines)
    refused = runner.invoke(app, ["audit", "verify", "--service", "payroll"])
    assert refused.exit_code != 0
