"""``povguard worker``: one ARQ worker process for the jobs of all three services.

Run as many as you like on as many machines: jobs are idempotent, each cron tick carries its
own fixed job id, and long scans take PostgreSQL advisory locks per county. A Redis outage
does not stop the process: it waits with backoff and resumes where it was."""

import asyncio
import contextlib
import importlib
import logging
import time
from typing import Any

import httpx
from arq import cron
from arq.worker import Function, Worker, func

from shared import jobs, observability, outbox
from shared.db import create_engine, create_session_maker
from shared.replica import create_replica
from shared.settings import Settings, get_settings
from shared.webhooks import jobs as webhook_jobs
from workers import maintenance
from workers import observability as worker_observability

JOB_MODULES = ("workers.maintenance", *maintenance.SERVICE_JOB_MODULES)


def load_jobs() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)


log = logging.getLogger("povguard.worker")


def open_databases(ctx: dict[str, Any]) -> None:
    """Two pools: one for short jobs, and a small one for bulk jobs (imports, county scans) so
    that a province-wide job queues for its few connections instead of taking the others."""
    settings: Settings = ctx["settings"]
    ctx["engine"] = create_engine(settings, "povguard-worker")
    ctx["session_maker"] = create_session_maker(ctx["engine"])
    bulk = settings.model_copy(update={"db_pool_size": settings.bulk_db_pool_size})
    ctx["bulk_engine"] = create_engine(bulk, "povguard-worker-bulk")
    ctx["bulk_session_maker"] = create_session_maker(ctx["bulk_engine"])
    # Scans read their matches from the read replica, when there is one (bulk-sized pool).
    ctx["replica"] = create_replica(bulk, "worker", ctx["engine"])


async def startup(ctx: dict[str, Any]) -> None:
    if "engine" in ctx:
        return  # ARQ's main loop started again after a Redis outage: keep what we have
    open_databases(ctx)
    ctx["http"] = httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    if ctx["replica"] is not None:
        await ctx["replica"].start()
    await worker_observability.start(ctx)
    await webhook_jobs.startup(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    await webhook_jobs.close(ctx)
    await worker_observability.stop(ctx)
    await ctx["http"].aclose()
    if ctx.get("replica") is not None:
        await ctx["replica"].stop()
    await ctx["engine"].dispose()
    await ctx["bulk_engine"].dispose()


def functions() -> list[Function]:
    return [
        func(
            observability.observed_job(spec.name, spec.func, spec.timeout_s, routine=spec.routine),
            name=spec.name,
            timeout=spec.timeout_s,
            max_tries=spec.max_tries,
            keep_result=spec.keep_result_s,
        )
        for spec in jobs.TASKS.values()
    ]


def _every(seconds: int) -> set[int]:
    """Cron seconds for "every ``seconds`` s" within a minute."""
    step = max(1, min(int(seconds), 60))
    return set(range(0, 60, step))


def cron_jobs(settings: Settings) -> list[Any]:
    entries = []
    # The relay and the sweeper run every few seconds, as the settings say.
    for name, every in (
        (maintenance.RELAY, settings.relay_every_s),
        (maintenance.SWEEPER, settings.sweep_every_s),
    ):
        spec = jobs.TASKS[name]
        entries.append(
            cron(
                spec.func,
                name=f"cron:{name}",
                unique=True,
                timeout=spec.timeout_s,
                keep_result=spec.keep_result_s,
                max_tries=1,
                second=_every(every),
                microsecond=0,
            )
        )
    for entry in jobs.SCHEDULES:
        spec = jobs.TASKS[entry.name]
        entries.append(
            cron(
                observability.observed_job(
                    spec.name, spec.func, spec.timeout_s, routine=spec.routine
                ),
                name=f"cron:{entry.name}",
                # One job id per tick (arq's name:tick): workers on many machines enqueue a
                # tick once, and a tick is never refused because the last one's result is kept.
                unique=True,
                timeout=spec.timeout_s,
                keep_result=60,
                # A tick runs once unless its schedule allows retries (``Retry`` needs tries).
                **{"max_tries": 1, **entry.when},
            )
        )
    return entries


def create_worker(settings: Settings | None = None, **overrides: Any) -> Worker:
    settings = settings or get_settings()
    load_jobs()
    ctx = {"settings": settings}
    # How often an idle worker looks for due jobs (ARQ's default is 0.5 s): a webhook passes two
    # jobs between commit and delivery, each waiting up to this long.
    options: dict[str, Any] = {"poll_delay": 0.1, "max_jobs": 10, **overrides}
    return Worker(
        functions=functions(),
        cron_jobs=cron_jobs(settings),
        redis_settings=jobs.redis_settings(settings),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        ctx=ctx,
        health_check_interval=30,
        **jobs.SERIALIZERS,
        handle_signals=True,
        # On SIGTERM: take no new job, let running ones finish for this long, then cancel
        # what is left, which ARQ hands back to the queue for another worker.
        job_completion_wait=settings.job_completion_wait_s,
        **options,
    )


REDIS_BACKOFF_S = (1.0, 30.0)


async def supervise(worker: Worker) -> None:
    """Run ARQ's main loop; when Redis goes away under it (ARQ lets the connection error end
    the loop), wait with backoff and run it again. Jobs already running go on meanwhile;
    jobs waiting in the outboxes are relayed once Redis is back. A signal ends it."""
    stopping = asyncio.Event()
    worker.on_stop = lambda _signal: stopping.set()
    delay = REDIS_BACKOFF_S[0]
    while not stopping.is_set():
        started = time.monotonic()
        worker.main_task = asyncio.ensure_future(worker.main())
        try:
            await worker.main_task
            return
        except asyncio.CancelledError:
            if stopping.is_set():
                return
            raise
        except outbox.REDIS_DOWN as exc:
            if time.monotonic() - started > 60:
                delay = REDIS_BACKOFF_S[0]
            log.warning("Redis unreachable (%s); the worker retries in %.0f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            delay = min(delay * 2, REDIS_BACKOFF_S[1])


async def close(worker: Worker) -> None:
    """ARQ's close, tolerating a Redis that is still away."""
    try:
        await worker.close()
    except outbox.REDIS_DOWN as exc:
        log.warning("Redis unreachable at shutdown: %s", exc)
        if worker.on_shutdown:
            await worker.on_shutdown(worker.ctx)


def run(settings: Settings | None = None) -> None:
    worker = create_worker(settings)
    try:
        worker.loop.run_until_complete(supervise(worker))
    finally:
        worker.loop.run_until_complete(close(worker))
