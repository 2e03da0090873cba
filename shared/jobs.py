"""Our small wrapper over ARQ (maintenance-only upstream, so kept swappable).

- ``@task`` registers a job; the worker collects every registered job.
- a service's ``outbox.defer(session, ...)`` (``shared.outbox``) writes a job into the unit
  of work's transaction; it is sent after commit, so a worker never sees work from a
  rolled-back transaction and committed work is never without its job.
- ``unit_of_work(ctx)`` is a job's own transaction, sending its deferred jobs after commit.
Jobs must be idempotent: ARQ may run a job twice.

Jobs travel as JSON, not pickle (``serialize``): every queue and the worker use it, so a job's
arguments are JSON values (ids as strings) and a message from Redis can never run code.
"""

import json
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from arq import Retry
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import QUEUE, connection_lost, run_after_commit, sqlstate_of
from shared.i18n import t
from shared.settings import Settings

JobFunc = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    func: JobFunc
    timeout_s: int
    max_tries: int
    keep_result_s: int
    # Runs every few seconds whether or not there is work (ticks, sweeps): its start and
    # success are logged at debug level, so a system at rest is quiet.
    routine: bool = False


@dataclass(frozen=True)
class ScheduleSpec:
    """A cron entry: run task ``name`` at these times (arq ``cron`` keyword arguments)."""

    name: str
    when: dict[str, Any]


TASKS: dict[str, TaskSpec] = {}
# No job runs longer: long work is chunked and hands on to a next job. ARQ keeps a job
# "in progress" for the largest timeout plus 10 s, so this also bounds how long a killed
# worker's job waits before ARQ runs it again (the sweeper usually dispatches it sooner).
MAX_JOB_S = 180
SCHEDULES: list[ScheduleSpec] = []


def schedule(name: str, **when: Any) -> None:
    """Run the registered task ``name`` on a schedule, e.g. ``schedule("scan", hour={2}, minute={0})``.
    The worker gives each cron job a fixed job id so two workers never run the same tick twice.
    A tick is tried once unless ``max_tries`` says more (a job that raises ``Retry`` needs it)."""
    SCHEDULES.append(ScheduleSpec(name, when))


def task(
    *,
    name: str | None = None,
    timeout_s: int = 120,
    max_tries: int = 5,
    keep_result_s: int = 60,
    routine: bool = False,
) -> Callable[[JobFunc], JobFunc]:
    if timeout_s > MAX_JOB_S:
        raise ValueError(
            t(
                "a job may run at most {limit} s: chunk the work instead",
                "job.too_long",
                limit=MAX_JOB_S,
            )
        )

    def register(func: JobFunc) -> JobFunc:
        spec = TaskSpec(name or func.__name__, func, timeout_s, max_tries, keep_result_s, routine)
        TASKS[spec.name] = spec
        return func

    return register


def _json_default(value: Any) -> Any:
    # A failed job's result is its exception: ARQ stores it with the job; keep type and message.
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    raise TypeError(
        f"job arguments and results are JSON values, not {type(value).__name__} "
        "(send ids and dates as strings)"
    )


def serialize(data: dict[str, Any]) -> bytes:
    """A job (or its result) as ARQ stores it in Redis: JSON. Anything else (a UUID, a date,
    an object) is refused when the job is enqueued, not when a worker runs it."""
    return json.dumps(
        data, default=_json_default, ensure_ascii=False, separators=(",", ":")
    ).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


# What every ARQ pool and worker is given.
SERIALIZERS: dict[str, Any] = {"job_serializer": serialize, "job_deserializer": deserialize}


def redis_settings(settings: Settings) -> RedisSettings:
    url = urlparse(settings.redis_url)
    if url.scheme == "unix":
        return RedisSettings(unix_socket_path=url.path, conn_timeout=2)
    database = int(url.path.strip("/") or 0)
    return RedisSettings(
        host=url.hostname or "localhost",
        port=url.port or 6379,
        database=database,
        password=url.password,
        conn_timeout=2,
    )


async def create_queue(settings: Settings) -> ArqRedis:
    return await create_pool(
        redis_settings(settings), default_queue_name=settings.queue_name, **SERIALIZERS
    )


def connect_queue(settings: Settings) -> ArqRedis:
    """The queue without connecting yet: redis-py opens connections on first use and again
    after Redis comes back, so a service started while Redis is down works once it is up."""
    rs = redis_settings(settings)
    return ArqRedis(
        host=rs.host,
        port=rs.port,
        unix_socket_path=rs.unix_socket_path,
        db=rs.database,
        password=rs.password,
        socket_connect_timeout=rs.conn_timeout,
        socket_timeout=5,
        encoding="utf8",
        default_queue_name=settings.queue_name,
        **SERIALIZERS,
    )


async def enqueue(queue: ArqRedis, name: str, *args: Any) -> None:
    """Send job ``name`` now, outside any transaction (work already committed). Work written
    in a transaction goes through its service's outbox instead (``database.outbox.defer``)."""
    await queue.enqueue_job(name, *args)


async def flush_deferred(session: AsyncSession, queue: ArqRedis | None) -> None:
    """After a commit outside ``unit_of_work`` and a request: run what the transaction left
    for after its commit, handing the jobs it wrote to ``queue`` (see shared.outbox)."""
    session.info[QUEUE] = queue
    await run_after_commit(session)


@asynccontextmanager
async def unit_of_work(ctx: dict[str, Any], *, bulk: bool = False) -> AsyncIterator[AsyncSession]:
    """A job's transaction: commit on success, then send the jobs it deferred. ``bulk`` work
    (a county's scan, an import chunk) takes its connection from the bulk pool."""
    maker = bulk_session_maker(ctx) if bulk else ctx["session_maker"]
    async with maker() as session:
        session.info[QUEUE] = ctx.get("redis")
        async with session.begin():
            yield session
        await run_after_commit(session)


def bulk_session_maker(ctx: dict[str, Any]) -> Any:
    """The worker's small pool for bulk jobs (``bulk_db_pool_size``), so imports and scans
    queue for their few connections instead of taking those that requests and short jobs need."""
    return ctx.get("bulk_session_maker") or ctx["session_maker"]


def is_transient(exc: BaseException) -> bool:
    """A lost connection, a serialization failure or deadlock (40), an operator intervention
    such as a cancelled statement (57), or a wait for the bulk pool that timed out (other
    imports and scans held its connections) may succeed when the job runs again."""
    return (
        connection_lost(exc)
        or sqlstate_of(exc).startswith(("40", "57"))
        or isinstance(exc, PoolTimeout)
    )


def is_last_try(ctx: dict[str, Any], name: str) -> bool:
    """ARQ does not call a job again after its ``max_tries``: this run must leave a final state."""
    return ctx.get("job_try", 1) >= TASKS[name].max_tries


def retry_if_transient(ctx: dict[str, Any], name: str, exc: BaseException) -> None:
    """Turn a transient failure into an ARQ retry with backoff (ARQ itself retries only on
    ``Retry``: any other exception fails the job for good), unless this is the last try."""
    if is_transient(exc) and not is_last_try(ctx, name):
        raise retry_later(ctx.get("job_try", 1)) from exc


def retry_later(attempt: int, base_s: float = 2.0, cap_s: float = 120.0) -> Retry:
    """A transient failure (network, a peer service down): try again with jittered backoff."""
    delay = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return Retry(defer=delay * (0.5 + random.random() / 2))
