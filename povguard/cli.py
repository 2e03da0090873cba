"""The ``povguard`` command.

``povguard up --demo`` is what ``make up`` runs: with no ``DATABASE_URL``/``REDIS_URL`` it
starts embedded PostgreSQL and Redis under ``./.povguard/``, migrates, loads demo data, creates
the admin, and serves the three services and the worker until Ctrl-C."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from povguard import audit as audit_cli
from povguard import running
from povguard.supervise import Supervisor
from services.monitoring import cli as monitoring_cli
from shared.auth import Role
from shared.settings import province_code

app = typer.Typer(
    help="Povguard: registry, monitoring and funds for 防止返贫动态监测和帮扶.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
app.add_typer(monitoring_cli.app, name="monitoring")
app.add_typer(audit_cli.app, name="audit")

SERVICES = {"registry": 8001, "monitoring": 8002, "funds": 8003}
STATE_DIR = running.STATE_DIR
SERVICE_USER = "povguard-service"


def _settings():
    from shared.settings import get_settings

    get_settings.cache_clear()
    return get_settings()


def migrate_database(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parents[1]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    if database_url:
        from shared.settings import Settings

        config.attributes["database_url"] = Settings(
            demo=True, database_url=database_url
        ).async_database_url()
    command.upgrade(config, "head")


@app.command()
def migrate() -> None:
    """Apply every Alembic migration (all three schemas)."""
    migrate_database(_settings().database_url)
    console.print("[green]database is at the latest migration[/green]")


async def _ensure_user(username: str, password: str, role: Role, region_code: str) -> bool:
    """The API's account rules apply (a ``ValidationFailed`` names the broken one); the new
    state reaches Redis after the commit, or through the worker's refill within a minute."""
    from services.registry.auth import service as auth_service
    from shared import jobs
    from shared.accounts import AccountNews
    from shared.db import create_engine, create_session_maker, run_after_commit

    settings = _settings()
    engine = create_engine(settings, "povguard-cli")
    try:
        redis = await jobs.create_queue(settings)
    except Exception:  # Redis down: the refill announces the account later
        redis = None
    try:
        async with create_session_maker(engine)() as session:
            async with session.begin():
                created = await auth_service.ensure_user(
                    session, username, password, role, region_code, AccountNews(redis, settings)
                )
            await run_after_commit(session)
            return created
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


async def _user_exists(username: str) -> bool:
    from services.registry.auth.repository import UserRepository
    from shared.db import create_engine, create_session_maker

    engine = create_engine(_settings(), "povguard-cli")
    try:
        async with create_session_maker(engine)() as session:
            return await UserRepository(session).get_by_username(username) is not None
    finally:
        await engine.dispose()


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[Role, typer.Option(help="The account's role")],
    region: Annotated[str, typer.Option(help="The account's 12-digit region code")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an account (or reset its password), under the same rules as ``POST /v1/users``."""
    from services.registry.auth.schemas import MIN_PASSWORD_LENGTH
    from shared.errors import AppError

    if len(password) < MIN_PASSWORD_LENGTH:
        raise typer.BadParameter(
            f"must be at least {MIN_PASSWORD_LENGTH} characters", param_hint="password"
        )
    try:
        created = asyncio.run(_ensure_user(username, password, role, region))
    except AppError as exc:
        console.print(f"[red]refused:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    console.print(
        f"[green]{'created' if created else 'updated'}[/green] {username} ({role.value}, {region})"
    )


@app.command("demo-data")
def demo_data(
    households: Annotated[int, typer.Option(help="How many synthetic households")] = 3000,
    year: Annotated[int, typer.Option(help="The economics year to generate")] = 2025,
) -> None:
    """Load demo data: real Guizhou counties, synthetic villages and households (idempotent)."""
    from povguard import demo

    asyncio.run(demo.load(_settings(), households=households, year=year, console=console))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="registry | monitoring | funds")],
    port: Annotated[int | None, typer.Option()] = None,
    host: str = "127.0.0.1",
) -> None:
    """Serve one service with uvicorn."""
    import uvicorn

    from shared.logging import configure_logging

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")
    from povguard.serving import protocol

    configure_logging(service)
    settings = _settings()
    uvicorn.run(
        f"services.{service}.app:create_app",
        http=protocol(settings.header_timeout_s),
        factory=True,
        host=host,
        port=port or SERVICES[service],
        # Our logging setup (JSON or readable, request ids) and our access lines (route
        # templates, never raw paths) replace uvicorn's.
        log_config=None,
        access_log=False,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for this long,
        # then closes: a rolling deployment loses no request.
        timeout_graceful_shutdown=settings.graceful_timeout_s,
    )


@app.command()
def worker(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Health probe: exit 0 when a worker is polling the queue, 1 when none is",
        ),
    ] = False,
) -> None:
    """Run an ARQ worker for every service's jobs and schedules (SIGTERM: running jobs get
    POVGUARD_JOB_COMPLETION_WAIT_S seconds to finish, then go back to the queue)."""
    if check:
        from workers.observability import check_health

        healthy = asyncio.run(check_health(_settings()))
        console.print("a worker is polling the queue" if healthy else "no worker is polling")
        raise typer.Exit(0 if healthy else 1)
    from shared.logging import configure_logging
    from workers.main import run

    configure_logging("worker")
    run()


@app.command()
def backup(file: Annotated[Path, typer.Argument(help="Where to write the archive")]) -> None:
    """Back up the three schemas (pg_dump custom format; restore with `povguard restore`)."""
    from povguard import backup as backup_module

    try:
        with console.status(f"dumping to {file}…"):
            backup_module.backup(running.database_url(), file)
    except backup_module.BackupError as exc:
        console.print(f"[red]backup failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"[green]backed up[/green] to {file} ({file.stat().st_size:,} bytes)")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An archive from `povguard backup`")],
) -> None:
    """Restore a backup into an empty database (DATABASE_URL), in one transaction."""
    from povguard import backup as backup_module

    try:
        with console.status(f"restoring {file}…"):
            backup_module.restore(running.database_url(), file)
    except backup_module.BackupError as exc:
        console.print(f"[red]restore failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"[green]restored[/green] {file}")


@app.command()
def healthcheck(
    url: Annotated[
        str | None,
        typer.Argument(
            envvar="POVGUARD_HEALTHCHECK_URL",
            help="What to ask; by default /healthz on any of the three services' ports",
        ),
    ] = None,
) -> None:
    """Exit 0 when the service in this container answers /healthz (the image's HEALTHCHECK)."""
    import urllib.request

    urls = [url] if url else [f"http://127.0.0.1:{port}/healthz" for port in SERVICES.values()]
    for candidate in urls:
        try:
            with urllib.request.urlopen(candidate, timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            continue
    console.print(f"[red]unhealthy:[/red] no answer from {', '.join(urls)}")
    raise typer.Exit(1)


def _ports() -> dict[str, int]:
    """Each service's port: the one its URL in the settings names (POVGUARD_REGISTRY_URL...),
    so the services reach each other where ``up`` serves them."""
    from urllib.parse import urlsplit

    settings = _settings()
    urls = {
        "registry": settings.registry_url,
        "monitoring": settings.monitoring_url,
        "funds": settings.funds_url,
    }
    return {name: urlsplit(urls[name]).port or default for name, default in SERVICES.items()}


def _wait_ready(
    procs: dict[str, subprocess.Popen[bytes]], ports: dict[str, int], timeout_s: float = 60
) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    for name, port in ports.items():
        while time.monotonic() < deadline:
            if procs[name].poll() is not None:
                typer.echo(f"{name} exited with {procs[name].returncode}", err=True)
                raise typer.Exit(1)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="Demo mode: embedded servers, demo data")] = False,
) -> None:
    """Run the whole system: migrations, (demo data,) three services and the worker."""
    STATE_DIR.mkdir(exist_ok=True)
    embedded = None
    if not (os.environ.get("DATABASE_URL") or os.environ.get("POVGUARD_DATABASE_URL")) or not (
        os.environ.get("REDIS_URL") or os.environ.get("POVGUARD_REDIS_URL")
    ):
        from povguard import embedded as emb

        with console.status("starting embedded PostgreSQL and Redis…"):
            embedded = emb.start(STATE_DIR.resolve())
        os.environ.setdefault("POVGUARD_DATABASE_URL", embedded.database_url)
        os.environ.setdefault("POVGUARD_REDIS_URL", embedded.redis_url)
        console.print(f"embedded PostgreSQL and Redis under [bold]{STATE_DIR.resolve()}[/bold]")
    if demo:
        os.environ["POVGUARD_DEMO"] = "1"
    os.environ.setdefault("POVGUARD_SECRET_KEY", running.secret_key())
    os.environ.setdefault("POVGUARD_SERVICE_PASSWORD", running.service_password())
    settings = _settings()
    running.record(
        settings.database_url, settings.redis_url, demo=demo, embedded=embedded is not None
    )
    supervisor = Supervisor({}, say=lambda text: console.print(f"[yellow]{text}[/yellow]"))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with console.status("applying migrations…"):
            migrate_database()
        asyncio.run(
            _ensure_user(
                SERVICE_USER, os.environ["POVGUARD_SERVICE_PASSWORD"], Role.service, province_code()
            )
        )
        if not asyncio.run(_user_exists("admin")):
            password = os.environ.get("POVGUARD_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            asyncio.run(_ensure_user("admin", password, Role.province_admin, province_code()))
            shown = (
                "from POVGUARD_ADMIN_PASSWORD"
                if os.environ.get("POVGUARD_ADMIN_PASSWORD")
                else password
            )
            console.print(
                f"[bold yellow]admin account created: username admin, password {shown}[/bold yellow]"
                " (shown once)"
            )
        if demo:
            from povguard import demo as demo_module

            households = int(os.environ.get("POVGUARD_DEMO_HOUSEHOLDS", "3000"))
            asyncio.run(
                demo_module.load(_settings(), households, 2025, console, only_if_empty=True)
            )
        python = sys.executable
        ports = _ports()
        supervisor.commands = {
            **{
                name: [python, "-m", "povguard", "serve", name, "--port", str(port)]
                for name, port in ports.items()
            },
            "worker": [python, "-m", "povguard", "worker"],
        }
        supervisor.start()
        _wait_ready(supervisor.procs, ports)
        for name, port in ports.items():
            console.print(f"[green]{name:<10}[/green] http://127.0.0.1:{port}/docs")
        console.print("worker running. Press Ctrl-C to stop everything.")
        # A child that dies (a crash, the OOM killer) is started again, with backoff.
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        supervisor.stop(timeout_s=35)  # their own graceful stop takes up to 25 s
        running.forget()
        if embedded is not None:
            embedded.stop()
        console.print("stopped.")


@app.callback()
def find_the_running_system(ctx: typer.Context) -> None:
    """Every command but ``up`` (which starts the system) and ``healthcheck`` (which only asks
    HTTP) uses the system ``make up`` runs in this folder, unless DATABASE_URL says otherwise."""
    if ctx.invoked_subcommand not in ("up", "healthcheck", None):
        running.adopt()


def main() -> None:
    """The ``povguard`` command: an error is one line (``--debug`` anywhere, or
    POVGUARD_DEBUG=1, shows the traceback)."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("POVGUARD_DEBUG") == "1"
    sys.argv = [arg for arg in sys.argv if arg != "--debug"]
    try:
        app()
    except Exception as exc:
        if debug:
            raise
        first_line = (str(exc).strip().splitlines() or [""])[0]
        console.print(
            f"[red]povguard: {type(exc).__name__}: {first_line}[/red] (--debug shows more)"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
