"""Alembic environment: async, one history for the three service schemas."""

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from services.funds.models import Base as FundsBase
from services.monitoring.models import Base as MonitoringBase
from services.registry.models import Base as RegistryBase
from shared.settings import Settings

SCHEMAS = ("registry", "monitoring", "funds")
target_metadata = [RegistryBase.metadata, MonitoringBase.metadata, FundsBase.metadata]
config = context.config


def _url() -> str:
    explicit = config.attributes.get("database_url")
    return explicit or Settings(demo=True).async_database_url()


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    return name in SCHEMAS if type_ == "schema" else True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_schemas=True,
        include_name=_include_name,
        version_table_schema="public",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = async_engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()

__all__ = ["text"]
