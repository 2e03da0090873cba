"""The job outbox: work that is committed is never without its job.

A job is not sent to Redis from inside a transaction. ``Outbox.defer`` writes a row into the
service's own ``job_outbox`` table in the caller's transaction, so the job exists exactly when
the work it belongs to was committed (a rolled-back request leaves neither). Two things hand the
rows to ARQ and delete them:

- the kick: right after the commit, the process that wrote them sends them (best effort: when
  Redis is away the request still succeeds and the rows wait). ``defer`` registers it on the
  session (``shared.db.after_commit``), through the queue the unit of work keeps there;
- the relay: a short cron in the worker sends whatever is left, oldest first, and keeps trying
  while Redis is away.

A row may be sent twice (a kick and the relay racing, a crash between send and delete): ARQ
refuses a second job with the same id while the first is queued, running or its result kept,
and every job is idempotent besides.

Long work also keeps a heartbeat (``heartbeat``) and registers a sweep (``sweep``): the
sweeper cron re-dispatches work whose heartbeat stopped (a killed worker, a job Redis lost)
and marks it failed with the reason after its last try."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from redis.exceptions import RedisError
from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from shared import observability
from shared.db import QUEUE, after_commit
from shared.ids import ordered_uuid
from shared.outbox.repository import OutboxRepository

log = logging.getLogger("povguard.jobs")

# What a lost or refused Redis connection raises (redis-py's own errors are not OSErrors).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    RedisError,
    OSError,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
)
# After a failed kick, requests skip theirs for this long (the relay sends the rows): a
# request must not wait out a connect timeout while Redis is known to be down.
KICK_PAUSE_S = 5.0
RELAY_BATCH = 500
_SESSION_KEY = "outbox_rows"


class JobOutboxMixin:
    """A job waiting to be handed to the queue (written in the transaction of its work)."""

    id: Mapped[UUID] = mapped_column(primary_key=True, default=ordered_uuid)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    # The request id (and trace) the job was written under, so its log lines join the request's.
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    job_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    send_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


@dataclass(frozen=True)
class Outbox:
    """One service's outbox table."""

    model: type[Any]

    def defer(
        self,
        session: AsyncSession,
        name: str,
        *args: Any,
        job_id: str | None = None,
        defer_by_s: float | None = None,
    ) -> None:
        """Queue job ``name`` in this session's transaction; it is sent once that commits.
        ``job_id`` names the job in ARQ (a second one with the same id is not run while the
        first is queued, running or its result kept)."""
        row_id = ordered_uuid()
        row = self.model(
            id=row_id,
            name=name,
            args=list(args),
            kwargs=observability.tag_job_kwargs(
                {} if defer_by_s is None else {"_defer_by": defer_by_s}
            ),
            job_id=job_id or f"job:{row_id}",
        )
        session.add(row)
        if _SESSION_KEY not in session.info:  # the transaction's first job: send them after it
            after_commit(session, lambda: kick(session, session.info.get(QUEUE)))
        session.info.setdefault(_SESSION_KEY, []).append((self.model, row))


_kick_paused_until = [0.0]


async def _send(queue: Any, rows: Sequence[Any]) -> tuple[list[UUID], BaseException | None]:
    sent: list[UUID] = []
    for row in rows:
        try:
            await queue.enqueue_job(row.name, *row.args, _job_id=row.job_id, **(row.kwargs or {}))
        except REDIS_DOWN as exc:
            return sent, exc
        sent.append(row.id)
    return sent, None


async def kick(session: AsyncSession, queue: Any) -> None:
    """After a commit: send the jobs this session wrote, and delete their rows. Never raises
    for a Redis or database failure: the relay sends whatever is left."""
    pending: list[tuple[type[Any], Any]] = session.info.pop(_SESSION_KEY, [])
    if not pending or queue is None or time.monotonic() < _kick_paused_until[0]:
        return
    sent, failure = await _send(queue, [row for _, row in pending])
    if failure is not None:
        _kick_paused_until[0] = time.monotonic() + KICK_PAUSE_S
        log.warning("queue unreachable (%s): the relay will send the jobs", failure)
    if not sent:
        return
    by_model: dict[type[Any], list[UUID]] = {}
    for model, row in pending:
        if row.id in sent:
            by_model.setdefault(model, []).append(row.id)
    try:
        async with session.begin():
            for model, ids in by_model.items():
                await OutboxRepository(session, model).delete(ids)
    except Exception as exc:  # sent already; the relay's resend is refused or harmless
        log.warning("sent jobs stay in the outbox until the relay clears them: %s", exc)


async def relay(
    session_maker: async_sessionmaker[AsyncSession], queue: Any, models: Sequence[type[Any]]
) -> int:
    """Send every outbox row, oldest first, and delete it (one transaction per batch; rows
    another relay holds are skipped). Stops at the first Redis failure and notes it on the row."""
    total = 0
    for model in models:
        while True:
            async with session_maker() as session, session.begin():
                repository = OutboxRepository(session, model)
                rows = await repository.oldest(RELAY_BATCH)
                sent, failure = await _send(queue, rows)
                if sent:
                    await repository.delete(sent)
                if failure is not None:
                    stuck = rows[len(sent)]
                    stuck.send_attempts += 1
                    stuck.last_error = f"{type(failure).__name__}: {failure}"[:300]
            if failure is not None:  # committed what was sent and the note; try again later
                raise failure
            total += len(sent)
            if len(rows) < RELAY_BATCH:
                break
    return total


def pooled(session_maker: async_sessionmaker[AsyncSession]) -> bool:
    """A session maker on an engine (a worker) rather than one connection (tests)."""
    return isinstance(session_maker.kw.get("bind"), AsyncEngine)


@asynccontextmanager
async def heartbeat(
    session_maker: async_sessionmaker[AsyncSession],
    beat: Callable[[AsyncSession], Awaitable[None]],
    every_s: float,
) -> AsyncIterator[None]:
    """While the block runs, call ``beat`` (an UPDATE of the work's heartbeat column) every
    ``every_s`` seconds in its own short transaction, so the sweeper can tell work that is
    running from work whose worker died. A session maker bound to one connection (tests)
    cannot run a second statement alongside: no beats then."""
    if not pooled(session_maker):
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                async with session_maker() as session, session.begin():
                    await beat(session)
            except Exception as exc:  # a missed beat is not the job's failure
                log.warning("heartbeat failed: %s", exc)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class SweepPolicy:
    """Work whose heartbeat is older than ``stale_before`` is stuck; it is dispatched again
    up to ``max_attempts`` times, then marked failed."""

    stale_before: datetime
    max_attempts: int


Sweep = Callable[[AsyncSession, SweepPolicy], Awaitable[dict[str, int]]]
SWEEPS: dict[str, Sweep] = {}


def sweep(name: str) -> Callable[[Sweep], Sweep]:
    """Register a service's sweep of its stuck work (run by the sweeper cron)."""

    def register(func: Sweep) -> Sweep:
        SWEEPS[name] = func
        return func

    return register


def stuck_reason(what: str, attempts: int, last_beat: datetime) -> str:
    """Why stuck work was given up, in words an official can act on."""
    return (
        f"the {what} stopped making progress {attempts} times (no heartbeat since "
        f"{last_beat:%Y-%m-%d %H:%M:%S} UTC): its worker died or the queue lost it; "
        "what was committed stays, start it again to finish"
    )
