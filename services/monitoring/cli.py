"""``povguard monitoring ...``: operator commands of the monitoring service.

Wire with ``app.add_typer(services.monitoring.cli.app, name="monitoring")``."""

import asyncio
from typing import Any

import httpx
import typer
from rich.console import Console

app = typer.Typer(help="Monitoring (防止返贫动态监测) operations.", no_args_is_help=True)
console = Console()


async def _run(job: str, **extra: Any) -> Any:
    from services.monitoring.projection import jobs as projection_jobs
    from shared.db import create_engine, create_session_maker
    from shared.settings import get_settings

    settings = get_settings()
    engine = create_engine(settings, "povguard-monitoring-cli")
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
            ctx = {
                "settings": settings,
                "session_maker": create_session_maker(engine),
                "http": http,
                "redis": None,
                "job_try": 1,
                **extra,
            }
            total = await getattr(projection_jobs, job)(ctx)
            # A job stops after its time budget (the worker's next run goes on): the
            # command goes on itself until the feed is drained.
            while more := await projection_jobs.follow_registry_changes(ctx):
                total += more
            return total
    finally:
        await engine.dispose()


def _run_or_exit(job: str, **extra: Any) -> Any:
    from arq import Retry

    try:
        return asyncio.run(_run(job, **extra))
    except Retry:
        console.print(
            "[red]the registry is unreachable; nothing was applied past the last page[/red]"
        )
        raise typer.Exit(1) from None


@app.command()
def rebuild() -> None:
    """Forget the projection and replay the registry's change feed from the start.
    Cases, alerts, signals and declarations are monitoring's own and are kept."""
    from shared.progress import progress

    with progress("replaying the change feed", unit="events", console=console) as bar:
        applied = _run_or_exit("rebuild_projection", on_progress=bar.advance)
    console.print(f"[green]projection rebuilt from {applied} change events[/green]")


@app.command()
def follow() -> None:
    """Apply what is new in the registry's change feed now (the worker does it every minute)."""
    applied = _run_or_exit("follow_registry_changes")
    console.print(f"[green]{applied} change events applied[/green]")
