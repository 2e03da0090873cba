"""A scratch database for a benchmark run: created, migrated, and dropped afterwards, on
``POVGUARD_DATABASE_URL`` or, when unset, an embedded PostgreSQL under ``.povguard/bench``."""

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, f"/{name}", p.query, p.fragment))


def _in_thread(fn: Any) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@contextmanager
def scratch_database(tag: str) -> Iterator[Settings]:
    server_url = os.environ.get("POVGUARD_DATABASE_URL") or os.environ.get("DATABASE_URL")
    embedded = None
    if not server_url:
        from povguard import embedded as emb

        server_url, embedded = emb.start_postgres(ROOT / ".povguard" / "bench" / "postgres")
    name = f"povguard_bench_{tag}_{os.getpid()}"
    admin_dsn = Settings(demo=True, database_url=server_url).asyncpg_dsn()

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _in_thread(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    _in_thread(lambda: asyncio.run(admin(f'CREATE DATABASE "{name}"')))
    url = _with_database(server_url, name)
    try:
        from povguard.cli import migrate_database

        _in_thread(lambda: migrate_database(url))
        yield Settings(demo=True, database_url=url, db_pool_size=25)
    finally:
        _in_thread(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
        if embedded is not None:
            embedded.cleanup()
