"""``povguard worker``: one ARQ worker process for the jobs of all three services.

Run as many as you like on as many machines: jobs are idempotent, each cron tick carries its
own fixed job id, and long scans take PostgreSQL advisory locks per county."""

import importlib
from typing import Any

import httpx
from arq import cron
from arq.worker import Function, Worker, func

from shared import jobs
from shared.db import create_engine, create_session_maker
from shared.settings import Settings, get_settings
from shared.webhooks import jobs as webhook_jobs

JOB_MODULES = (
    "workers.maintenance",
    "services.registry.jobs",
    "services.monitoring.jobs",
    "services.funds.jobs",
)


def load_jobs() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["engine"] = create_engine(settings, "povguard-worker")
    ctx["session_maker"] = create_session_maker(ctx["engine"])
    ctx["http"] = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    await webhook_jobs.startup(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    await webhook_jobs.close(ctx)
    await ctx["http"].aclose()
    await ctx["engine"].dispose()


def functions() -> list[Function]:
    return [
        func(
            spec.func,
            name=spec.name,
            timeout=spec.timeout_s,
            max_tries=spec.max_tries,
            keep_result=spec.keep_result_s,
        )
        for spec in jobs.TASKS.values()
    ]


def cron_jobs() -> list[Any]:
    entries = []
    for entry in jobs.SCHEDULES:
        spec = jobs.TASKS[entry.name]
        entries.append(
            cron(
                spec.func,
                name=f"cron:{entry.name}",
                # One job id per tick (arq's name:tick): workers on many machines enqueue a
                # tick once, and a tick is never refused because the last one's result is kept.
                unique=True,
                timeout=spec.timeout_s,
                keep_result=60,
                max_tries=1,
                **entry.when,
            )
        )
    return entries


def create_worker(settings: Settings | None = None, **overrides: Any) -> Worker:
    settings = settings or get_settings()
    load_jobs()
    ctx = {"settings": settings}
    return Worker(
        functions=functions(),
        cron_jobs=cron_jobs(),
        redis_settings=jobs.redis_settings(settings),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        ctx=ctx,
        health_check_interval=30,
        # How often an idle worker looks for due jobs (ARQ's default is 0.5 s): a webhook
        # passes two jobs between commit and delivery, each waiting up to this long.
        poll_delay=0.1,
        max_jobs=10,
        handle_signals=True,
        **overrides,
    )


def run() -> None:
    create_worker().run()
