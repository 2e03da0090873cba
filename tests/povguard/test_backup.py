"""``povguard backup`` and ``restore``: a county's households, alerts and payments survive a
dump and a restore into a new, empty database, and a restore never writes over data."""

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from povguard import backup
from povguard.cli import app
from povguard.scratch import _admin, migrated_database, with_database
from shared.settings import Settings
from tests.conftest import TEST_SECRET, XINGYI

HOUSEHOLD, ALERT, FUND, PROJECT, PAYMENT = (uuid.uuid4() for _ in range(5))


def _sql(url: str, fn: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(Settings(demo=True, database_url=url).asyncpg_dsn())
        try:
            return await fn(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


async def _county_with_records(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO registry.households (id, region_code, household_no, address, category,"
        " poverty_causes, relocated, at_risk, external_ids, version)"
        " VALUES ($1, $2, 'HH-0001', '丰都村一组', 'monitored', '[\"illness\"]', false, true,"
        " '{}', 1)",
        HOUSEHOLD,
        XINGYI,
    )
    await conn.execute(
        "INSERT INTO monitoring.alerts (id, household_id, region_code, rule, figures,"
        " policy_id, policy_year) VALUES ($1, $2, $3, 'income_below_line', '{\"income\": 5000}',"
        " $4, 2025)",
        ALERT,
        HOUSEHOLD,
        XINGYI,
        uuid.uuid4(),
    )
    await conn.execute(
        "INSERT INTO funds.funds (id, region_code, source, fiscal_year, amount, document_no,"
        " created_by, version) VALUES ($1, $2, 'central', 2025, 100000, '黔财农〔2025〕1号',"
        " 'test', 1)",
        FUND,
        XINGYI,
    )
    await conn.execute(
        "INSERT INTO funds.projects (id, region_code, name, kind, fiscal_year, budget, status,"
        " created_by, version) VALUES ($1, $2, '茶园', 'industry', 2025, 50000, 'in_progress',"
        " 'test', 1)",
        PROJECT,
        XINGYI,
    )
    await conn.execute(
        "INSERT INTO funds.payments (id, seq, project_id, fund_id, region_code, amount, payee,"
        " voucher_no, paid_on, created_by) VALUES ($1, 1, $2, $3, $4, 1234.50, '兴义茶业',"
        " 'V-1', '2025-06-01', 'test')",
        PAYMENT,
        PROJECT,
        FUND,
        XINGYI,
    )
    await conn.execute(
        "INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id,"
        " region_code) VALUES ('test', 'county_admin', 'create', 'household', $1, $2)",
        str(HOUSEHOLD),
        XINGYI,
    )


async def _records(conn: asyncpg.Connection) -> dict[str, Any]:
    return {
        "households": [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, household_no, address, category, poverty_causes"
                " FROM registry.households"
            )
        ],
        "alerts": [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, household_id, rule, status, figures FROM monitoring.alerts"
            )
        ],
        "payments": [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, amount, payee, paid_on, fund_id FROM funds.payments"
            )
        ],
        "regions": await conn.fetchval("SELECT count(*) FROM registry.regions"),
        "revision": await conn.fetchval("SELECT version_num FROM public.alembic_version"),
    }


@pytest.fixture
def source(servers: tuple[str, str]) -> Iterator[str]:
    with migrated_database(servers[0], f"povguard_backup_src_{os.getpid()}") as url:
        _sql(url, _county_with_records)
        yield url


@pytest.fixture
def empty_database(servers: tuple[str, str]) -> Iterator[str]:
    name = f"povguard_backup_dst_{os.getpid()}"
    _admin(servers[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(servers[0], f'CREATE DATABASE "{name}"')
    yield with_database(servers[0], name)
    _admin(servers[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_restored_backup_reads_back_the_same_households_alerts_and_payments(
    source: str, empty_database: str, tmp_path: Path
) -> None:
    archive = tmp_path / "povguard.dump"

    backup.backup(source, archive)
    backup.restore(empty_database, archive)

    before, after = _sql(source, _records), _sql(empty_database, _records)
    assert after == before
    assert after["households"][0][1] == "HH-0001"
    assert after["payments"][0][1] == pytest.approx(1234.50)

    # Sequences came back too: the next audit entry does not collide with a restored one.
    next_id = _sql(
        empty_database,
        lambda conn: conn.fetchval(
            "INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id,"
            " region_code) VALUES ('test', 'county_admin', 'update', 'household', 'x', $1)"
            " RETURNING seq",
            XINGYI,
        ),
    )
    assert next_id > 1


def test_restore_refuses_a_database_that_already_has_data(source: str, tmp_path: Path) -> None:
    archive = tmp_path / "povguard.dump"
    backup.backup(source, archive)

    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(source, archive)

    assert len(_sql(source, _records)["households"]) == 1


def test_the_cli_backs_up_and_restores_with_the_configured_database(
    source: str, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "nightly" / "povguard.dump"
    runner = CliRunner()
    monkeypatch.setenv("POVGUARD_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("POVGUARD_DATABASE_URL", raising=False)

    monkeypatch.setenv("DATABASE_URL", source)
    result = runner.invoke(app, ["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output

    monkeypatch.setenv("DATABASE_URL", empty_database)
    result = runner.invoke(app, ["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert len(_sql(empty_database, _records)["alerts"]) == 1

    result = runner.invoke(app, ["restore", str(tmp_path / "missing.dump")])
    assert result.exit_code == 1
    assert "no backup file" in result.output


def test_a_password_in_the_url_travels_in_the_environment_not_on_the_command_line() -> None:
    conn = backup.Connection.from_database_url(
        "postgresql+asyncpg://povguard:s3cr%40t@db.internal:5432/povguard"
    )
    assert conn.url == "postgresql://povguard@db.internal:5432/povguard"
    assert conn.env()["PGPASSWORD"] == "s3cr@t"


def test_a_pg_dump_older_than_the_server_is_refused_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 15.8'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("POVGUARD_PG_BIN", str(tmp_path))

    assert backup.find_tool("pg_dump", 15) == fake
    with pytest.raises(backup.BackupError, match=r"PostgreSQL 16 or newer.*15"):
        backup.find_tool("pg_dump", 16)


def test_restore_names_a_version_mismatch_as_one(
    source: str, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "povguard.dump"
    backup.backup(source, archive)
    # The same archive as a newer pg_dump writes it (archive format 1.16: PostgreSQL 17).
    newer = tmp_path / "from-pg17.dump"
    data = bytearray(archive.read_bytes())
    data[5:7] = bytes([1, 16])
    newer.write_bytes(bytes(data))
    assert backup.archive_needs(newer) == ("1.16", 17)
    with pytest.raises(backup.BackupError, match=r"version mismatch.*PostgreSQL 17 or newer"):
        backup.restore(empty_database, newer)

    not_an_archive = tmp_path / "notes.txt"
    not_an_archive.write_text("这不是备份")
    with pytest.raises(backup.BackupError, match="not a pg_dump archive"):
        backup.restore(empty_database, not_an_archive)
