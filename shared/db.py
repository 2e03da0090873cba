"""Database plumbing: one async engine per process, one session (one transaction) per unit
of work, and the declarative base each service builds for its own PostgreSQL schema.

A ground-floor module (see docs/architecture.md): it imports nothing of Povguard's but the
settings and ids. What must happen once a transaction commits (sending the jobs it wrote) is
registered on the session by the floors above (``after_commit``), so this module knows none
of them."""

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, String, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.ids import ordered_uuid as ordered_uuid  # where modules found it
from shared.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def RegionCode(**kwargs: Any) -> Any:
    """A 12-digit region code column. ``C`` collation lets ``LIKE 'prefix%'`` use the index,
    which is how every subtree (scope) query is answered."""
    return mapped_column(String(12, collation="C"), **kwargs)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=utcnow, nullable=False
    )


class VersionedMixin:
    """Optimistic concurrency: SQLAlchemy checks and bumps ``version`` on every UPDATE."""

    version: Mapped[int] = mapped_column(nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def sqlstate_of(exc: BaseException) -> str:
    """The PostgreSQL SQLSTATE behind a SQLAlchemy error ('' when there is none)."""
    orig = getattr(exc, "orig", None)
    return (
        getattr(orig, "sqlstate", None)
        or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
        or ""
    )


# Connection exceptions (class 08) and the server shutting down or starting up (57P01-57P03).
_CONNECTION_LOST = ("08", "57P01", "57P02", "57P03")


def connection_lost(exc: BaseException) -> bool:
    """The database went away under a statement (a restart, a failover, a dropped or refused
    connection): nothing was committed, and the same work may succeed when tried again."""
    return (
        isinstance(exc, OSError | ConnectionError)
        # SQLAlchemy's word for a connection that broke under the statement (no sqlstate).
        or getattr(exc, "connection_invalidated", False)
        or sqlstate_of(exc).startswith(_CONNECTION_LOST)
    )


# What may carry a person's data in an error text: an ID number, a mobile number, Chinese
# text (names, addresses) and a value PostgreSQL quotes after a colon (``invalid input syntax
# for type date: "..."``); identifiers it quotes after a word (``constraint "x"``) stay.
_PERSONAL_VALUES = re.compile(
    r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])"
    r"|(?<![0-9])1[3-9][0-9]{9}(?![0-9])"
    r"|[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+"
    r'|(?<=: )"[^"]*"'
    r"|(?<=: )'[^']*'"
)


def error_without_values(exc: BaseException) -> str:
    """An exception as text that can be stored or logged: its kind and the first line of its
    message (a database error: the driver's message and SQLSTATE, never the statement, its
    parameters or PostgreSQL's DETAIL line), with anything that may be personal data cut."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    lines = str(source).strip().splitlines()
    message = lines[0] if lines else ""
    state = sqlstate_of(exc)
    kind = type(source).__name__ + (f" (SQLSTATE {state})" if state else "")
    return _PERSONAL_VALUES.sub("…", f"{kind}: {message}" if message else kind)


def create_engine(
    settings: Settings, application_name: str, *, pre_ping: bool = True
) -> AsyncEngine:
    """``pre_ping``: test each connection as it leaves the pool, so one that died while idle
    (a database restart) is replaced unseen. Workers and commands do (a job would fail for
    good). With asyncpg a ping costs three round trips (BEGIN, ping, ROLLBACK), a third of a
    household read, so the APIs (``pre_ping=False``) ping only a connection that sat idle
    for ``db_ping_idle_s``: after a quiet spell the first request still finds the database
    restarted underneath healed, and a busy pool pays nothing. A connection that dies while
    in use is still a 503 to retry (shared/app.py).

    JIT is off: the scan's rule statements (one statement of many CTEs per rule and county)
    are estimated far above ``jit_above_cost`` and PostgreSQL spent 1.4 s of their 1.8 s
    compiling them (EXPLAIN's ``JIT: Timing``, 1,000,000 households); no statement of an
    OLTP service runs long enough to win that back."""
    engine = create_async_engine(
        settings.async_database_url(),
        # Statement parameters are personal data (names, ID numbers): never in error texts,
        # and so never in logs or an import's stored error.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=pre_ping,
        connect_args={"server_settings": {"application_name": application_name, "jit": "off"}},
    )
    if not pre_ping:
        ping_after_idle(engine, settings.db_ping_idle_s)
    return engine


def ping_after_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a connection on checkout when it was checked in more than ``idle_s`` ago; a
    failed ping makes the pool discard it and connect anew (SQLAlchemy's
    ``DisconnectionError`` protocol, retried up to three times)."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("idle connection closed by the server") from exc


def create_session_maker(bind: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


class ReadOnlySession(Session):
    """A session outside any transaction: a flush would commit each statement on its own."""

    def flush(self, objects: Any = None) -> None:
        raise RuntimeError("a read session never writes: take SessionDep for a write")


def create_read_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions in autocommit mode, on the same pool: no BEGIN and COMMIT round trips."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ReadOnlySession,
    )


# Where a unit of work keeps the job queue (ARQ's Redis, or None) for its after-commit hooks:
# the outbox's kick sends the jobs the transaction wrote through it (shared.outbox).
QUEUE = "queue"
# Set on a request's state once its unit of work committed: shared.replica then remembers the
# primary's WAL position for the client, whose next reads must see the write.
COMMITTED = "committed_write"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the route returns, rolled back on any
    error. What the transaction registered for after its commit (the jobs it deferred) runs
    only once the commit succeeded."""
    session_maker: async_sessionmaker[AsyncSession] = request.app.state.session_maker
    async with session_maker() as session:
        session.info[QUEUE] = getattr(request.app.state, "arq", None)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        setattr(request.state, COMMITTED, True)
        await run_after_commit(session)


def after_commit(session: AsyncSession, hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` once this session's transaction has committed (never if it rolls back):
    news of a change that others act on (an account's new state in Redis) must not precede
    it."""
    session.info.setdefault("after_commit", []).append(hook)


async def run_after_commit(session: AsyncSession) -> None:
    for hook in session.info.pop("after_commit", []):
        await hook()


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The session of a route that answers with one SELECT, the hottest reads: a statement
    sees one snapshot by itself, so the request needs no transaction, and skipping BEGIN and
    COMMIT saves two of its three round trips. Never for a route that writes or reads twice."""
    session_maker: async_sessionmaker[AsyncSession] = request.app.state.read_session_maker
    async with session_maker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
"""The request's session; every dependency that asks for it gets the same one."""
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
"""A session without a transaction, for a route that answers with a single SELECT."""
