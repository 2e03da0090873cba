"""Every schema change comes as a migration: the database the migrations build (the test
database) is exactly what the models describe, so a model edited without its Alembic
revision fails here rather than in production."""

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from services.funds.models import Base as FundsBase
from services.monitoring.models import Base as MonitoringBase
from services.registry.models import Base as RegistryBase


def _differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"include_schemas": True, "compare_type": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xid8 and expression indexes, which it cannot compare
        # Alembic compares a list of MetaData too (its stub names only one).
        metadata: Any = [RegistryBase.metadata, MonitoringBase.metadata, FundsBase.metadata]
        return compare_metadata(context, metadata)


async def test_the_migrations_build_the_schema_the_models_describe(
    connection: AsyncConnection,
) -> None:
    assert await connection.run_sync(_differences) == []
