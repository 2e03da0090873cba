"""The replica's SQL: where the primary's WAL stands, and how far a standby has replayed it."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# The insert position, not pg_current_wal_lsn(): with ``synchronous_commit = off`` a commit
# record may still wait in the WAL buffers, after the written position; the insert position is
# past it whatever the setting.
_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")

# What a standby has replayed (a promoted one: its own position) and how far behind it is: 0
# when it has replayed all it received, else the age of the last transaction it replayed.
_STATE = text(
    """
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                ELSE pg_current_wal_lsn() END::text AS replayed,
           CASE WHEN NOT pg_is_in_recovery()
                  OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                THEN 0
                ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
           END::float8 AS lag_s
    """
)

_REPLAYED = text(
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END::text"
)


async def primary_position(connection: AsyncConnection) -> str:
    """The primary's WAL position now: every transaction committed before is behind it."""
    return str((await connection.execute(_POSITION)).scalar_one())


async def standby_state(connection: AsyncConnection) -> tuple[str | None, float]:
    """``(replayed position, lag in seconds)`` of the server behind ``connection``."""
    row = (await connection.execute(_STATE)).one()
    return row.replayed, float(row.lag_s)


async def replayed(connection: AsyncConnection) -> str | None:
    return (await connection.execute(_REPLAYED)).scalar_one()
