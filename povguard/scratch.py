"""Throwaway databases built by the migrations: each test run and each benchmark gets its own
on the given server, so they never touch real data and can run side by side."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.settings import Settings


def with_database(url: str, name: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def run_in_thread(fn: Callable[[], Any]) -> None:
    """Run ``fn`` on its own thread and wait: Alembic's async env and ``asyncio.run`` need a
    thread without a running event loop, and callers (pytest-asyncio, benches) have one."""
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


def _admin(server_url: str, sql: str) -> None:
    dsn = Settings(demo=True, database_url=server_url).asyncpg_dsn()

    async def execute() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_in_thread(lambda: asyncio.run(execute()))


@contextmanager
def migrated_database(
    server_url: str, name: str, *, keep: bool = False, template: str | None = None
) -> Iterator[str]:
    """Create database ``name`` afresh on the server, run every migration, yield its URL, and
    drop it afterwards (unless ``keep``). With ``template``, a database the migrations already
    built that nobody is connected to, copy it instead of migrating: PostgreSQL copies it in
    well under a second, where the migrations take seconds (the benches' smoke tests)."""
    from povguard.cli import migrate_database

    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    copy = f' TEMPLATE "{template}"' if template else ""
    _admin(server_url, f'CREATE DATABASE "{name}"{copy}')
    url = with_database(server_url, name)
    try:
        if not template:
            run_in_thread(lambda: migrate_database(url))
        yield url
    finally:
        if not keep:
            _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
