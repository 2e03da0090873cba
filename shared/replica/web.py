"""The replica in the APIs: the sessions routes read with, the middleware that remembers a
client's writes, and what ``/readyz`` and ``/metrics`` say of the replica."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics, request_context
from shared.auth import CurrentPrincipal, Principal
from shared.db import COMMITTED, QUEUE, connection_lost, run_after_commit
from shared.replica import ANSWER_S, HEADER, KEEP_S, Replica, lsn_value

log = logging.getLogger("povguard.replica")

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_UNKNOWN = -1  # Redis did not answer: the client's last write is unknown, read the primary


def _key(state: Any, subject: str) -> str:
    return f"{state.settings.queue_name}:read-after:{subject}"


async def _read_after(request: Request, principal: Principal) -> int | None:
    """The WAL position the caller's read must see: its last write's (kept in Redis) or the
    one it sent in ``Povguard-Read-After``, whichever is later; ``_UNKNOWN`` without Redis."""
    sent = lsn_value(request.headers.get(HEADER))
    queue = getattr(request.app.state, "arq", None)
    if queue is None:
        return sent
    try:
        raw = await queue.get(_key(request.app.state, principal.sub))
    except Exception:
        return _UNKNOWN
    kept = lsn_value(raw.decode() if isinstance(raw, bytes) else raw)
    known = [p for p in (sent, kept) if p is not None]
    return max(known) if known else None


async def _replica_session(
    request: Request, principal: Principal, transactional: bool
) -> AsyncSession | None:
    """A session on the replica when it may serve this read, its connection already taken
    (a replica found down now is noted, and the read goes to the primary)."""
    replica: Replica | None = getattr(request.app.state, "replica", None)
    if replica is None:
        return None
    session = await _on_replica(request, principal, replica, transactional)
    metrics.REPLICA_READS.labels("primary" if session is None else "replica").inc()
    return session


async def _on_replica(
    request: Request, principal: Principal, replica: Replica, transactional: bool
) -> AsyncSession | None:
    if not replica.usable:
        return None
    position = await _read_after(request, principal)
    if position == _UNKNOWN or not await replica.caught_up(position):
        return None
    session = replica.maker(transactional)()
    try:
        async with asyncio.timeout(ANSWER_S):
            await session.connection()
    except Exception as exc:
        await session.close()
        if not connection_lost(exc):
            raise
        replica.failed(exc)
        return None
    return session


async def get_replica_read_session(
    request: Request, principal: CurrentPrincipal
) -> AsyncIterator[AsyncSession]:
    """A read without a transaction (one SELECT), from the replica when it may serve it."""
    session = await _replica_session(request, principal, transactional=False)
    if session is None:
        session = request.app.state.read_session_maker()
    async with session:
        yield session


async def get_replica_session(
    request: Request, principal: CurrentPrincipal
) -> AsyncIterator[AsyncSession]:
    """A read in one transaction (a page and its count, a report's several queries), from the
    replica when it may serve it. Without a replica: the primary's unit of work, as before."""
    session = await _replica_session(request, principal, transactional=True)
    if session is not None:
        async with session:
            yield session
        return
    async with request.app.state.session_maker() as primary:
        primary.info[QUEUE] = getattr(request.app.state, "arq", None)
        try:
            yield primary
            await primary.commit()
        except BaseException:
            await primary.rollback()
            raise
        await run_after_commit(primary)


ReplicaReadSessionDep = Annotated[AsyncSession, Depends(get_replica_read_session, scope="function")]
"""A session without a transaction for a single-SELECT read, on the replica when it may."""
ReplicaSessionDep = Annotated[AsyncSession, Depends(get_replica_session, scope="function")]
"""A read-only transaction for a read of several statements, on the replica when it may."""


class ReadYourWrites:
    """After a request committed a write: the primary's WAL position, kept for the principal
    in Redis (``KEEP_S``) and answered in ``Povguard-Read-After``. Nothing without a replica."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        replica: Replica | None = getattr(state, "replica", None)
        if replica is None:
            await self.app(scope, receive, send)
            return

        async def send_noting(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] < 400
                and scope.get("state", {}).get(COMMITTED)
            ):
                position = await _remember(state, replica)
                if position:
                    headers = [
                        *message.get("headers", []),
                        (b"povguard-read-after", position.encode()),
                    ]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_noting)


async def _remember(state: Any, replica: Replica) -> str | None:
    try:
        position = await replica.primary_position()
    except Exception:
        log.warning("could not read the primary's WAL position", exc_info=True)
        return None
    info = request_context.current()
    queue = getattr(state, "arq", None)
    if info is not None and info.user and queue is not None:
        try:
            await queue.set(_key(state, info.user), position, ex=KEEP_S)
        except Exception:  # the header still carries it; the next read may find Redis back
            log.warning("could not keep the write position in Redis", exc_info=True)
    return position


async def readiness(state: Any) -> str:
    """``/readyz``'s word on the replica (it never makes a service unready: reads fall back)."""
    replica: Replica | None = getattr(state, "replica", None)
    if replica is None:
        return "not configured"
    await replica.check()
    return replica.describe()


async def collect(state: Any) -> Sequence[Metric | None]:
    """``povguard_replica_lag_seconds`` and ``povguard_replica_up`` (no sample without one)."""
    lag = GaugeMetricFamily(
        "povguard_replica_lag_seconds",
        "Seconds the read replica is behind the primary (0 when it has replayed all it received).",
    )
    up = GaugeMetricFamily(
        "povguard_replica_up", "1 when the read replica answers and may serve reads, else 0."
    )
    replica: Replica | None = getattr(state, "replica", None)
    if replica is not None:
        await replica.check()
        up.add_metric([], 1.0 if replica.usable else 0.0)
        if replica.lag_s is not None and replica.error is None:
            lag.add_metric([], replica.lag_s)
    return [lag, up]
