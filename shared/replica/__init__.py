"""Reads from a streaming replica (``DATABASE_REPLICA_URL``), with read-your-writes kept.

Feeds, lists, exports, reports and statistics read from the replica; writes, and the reads
that decide a write, from the primary. What keeps a client's own writes visible:

- after a request committed a write, the primary's WAL position (an LSN such as
  ``0/3000148``) is remembered for its principal in Redis for ``KEEP_S`` and answered in the
  ``Povguard-Read-After`` header (shared.replica.web);
- a later read by that principal (or one sending the header back, e.g. another service acting
  for it) is served by the replica only once the replica has replayed that position: it waits
  up to ``replica_wait_s``, polling, and else reads the primary.

A replica that is down, or further behind than ``replica_max_lag_s``, serves nothing: reads go
to the primary until the next check (every ``replica_check_s``) finds it well. The APIs are
stateless, so the position is kept where every process finds it (Redis), not in the process;
a client that cannot be recognised by its token may send the header itself."""

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import (
    connection_lost,
    create_engine,
    create_read_session_maker,
    create_session_maker,
    error_without_values,
)
from shared.replica import repository
from shared.settings import Settings

log = logging.getLogger("povguard.replica")

HEADER = "Povguard-Read-After"
# How long a principal's last write position is kept: longer than any lag a replica may have
# and still serve (``replica_max_lag_s``).
KEEP_S = 300
POLL_S = 0.005
# A replica that does not answer within this (a host gone, not refusing) is taken as down.
ANSWER_S = 2.0
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


def lsn_value(lsn: str | None) -> int | None:
    """``'16/B374D848'`` as a number (None for no or a malformed position)."""
    if not lsn or not _LSN.match(lsn):
        return None
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _drop_closed(engine: AsyncEngine) -> None:
    """A pooled connection the server closed (the standby stopped) is replaced on checkout,
    without a round trip: asyncpg already knows the socket is gone."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        inner = getattr(dbapi_connection, "_connection", None)
        if inner is not None and inner.is_closed():
            raise DisconnectionError("replica connection closed by the server")


class Replica:
    """One process's view of the replica: its engine and sessions, how far it has replayed,
    how far behind it is, and whether it is usable now."""

    def __init__(self, settings: Settings, name: str, primary: AsyncEngine) -> None:
        replica_settings = settings.replica_settings()
        assert replica_settings is not None
        self.engine = create_engine(replica_settings, f"povguard-{name}-replica", pre_ping=False)
        _drop_closed(self.engine)
        self.session_maker = create_session_maker(self.engine)
        self.read_session_maker = create_read_session_maker(self.engine)
        self.primary = primary.execution_options(isolation_level="AUTOCOMMIT")
        self.wait_s = settings.replica_wait_s
        self.max_lag_s = settings.replica_max_lag_s
        self.check_s = settings.replica_check_s
        self.replayed: int = 0
        self.lag_s: float | None = None
        self.error: str | None = "not checked yet"
        self._watch: asyncio.Task[None] | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and self.lag_s is not None and self.lag_s <= self.max_lag_s

    def describe(self) -> str:
        """The readiness probe's word on the replica."""
        if self.error is not None:
            return f"unreachable: {self.error}"
        state = "ok" if self.usable else "behind (reads go to the primary)"
        return f"{state}, lag {self.lag_s or 0.0:.3f} s"

    async def check(self) -> None:
        try:
            async with asyncio.timeout(ANSWER_S), self.engine.connect() as conn:
                replayed, self.lag_s = await repository.standby_state(conn)
                await conn.rollback()
            self.replayed = max(self.replayed, lsn_value(replayed) or 0)
            self.error = None
        except Exception as exc:
            self.failed(exc)

    def failed(self, exc: BaseException) -> None:
        """The replica failed under a read: nothing more goes to it until a check finds it."""
        if self.error is None:
            log.warning("replica unusable, reading the primary: %s", error_without_values(exc))
        self.error = type(exc).__name__

    async def primary_position(self) -> str:
        async with self.primary.connect() as conn:
            return await repository.primary_position(conn)

    async def caught_up(self, position: int | None) -> bool:
        """Whether the replica may serve a read that must see ``position``: at once when it
        is known to have replayed it, else after polling for at most ``wait_s``."""
        if not self.usable:
            return False
        if position is None or position <= self.replayed:
            return True
        deadline = time.monotonic() + self.wait_s
        try:
            async with asyncio.timeout(self.wait_s + ANSWER_S), self.engine.connect() as conn:
                while True:
                    replayed = lsn_value(await repository.replayed(conn)) or 0
                    self.replayed = max(self.replayed, replayed)
                    if replayed >= position:
                        return True
                    if time.monotonic() >= deadline:
                        return False
                    await asyncio.sleep(POLL_S)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            self.failed(exc)
            return False

    def maker(self, transactional: bool) -> async_sessionmaker[AsyncSession]:
        return self.session_maker if transactional else self.read_session_maker

    async def _watch_forever(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_s)

    async def start(self) -> None:
        await self.check()
        self._watch = asyncio.create_task(self._watch_forever(), name="replica-watch")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.engine.dispose()


def create_replica(settings: Settings, name: str, primary: AsyncEngine) -> Replica | None:
    return Replica(settings, name, primary) if settings.database_replica_url else None


@asynccontextmanager
async def snapshot(replica: Replica | None) -> AsyncIterator[AsyncSession | None]:
    """For bulk reads (a county's scan): one read-only snapshot (REPEATABLE READ) of the
    replica, taken once it has replayed all that the primary had committed when asked (a
    scan asked after a change sees the change), waiting at most ``replica_wait_s``. None when
    the replica may not serve (none, down, behind): read the primary."""
    session: AsyncSession | None = None
    if replica is not None and replica.usable:
        position = lsn_value(await replica.primary_position())
        if await replica.caught_up(position):
            session = replica.session_maker()
            try:
                async with asyncio.timeout(ANSWER_S):
                    await session.connection(
                        execution_options={"isolation_level": "REPEATABLE READ"}
                    )
            except Exception as exc:
                await session.close()
                if not connection_lost(exc):
                    raise
                replica.failed(exc)
                session = None
    if session is None:
        yield None
        return
    async with session:
        yield session
