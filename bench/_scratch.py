"""A scratch database for a benchmark run: created, migrated, and dropped afterwards, on
``POVGUARD_DATABASE_URL`` or, when unset, an embedded PostgreSQL under ``.povguard/bench``.
``POVGUARD_BENCH_TEMPLATE`` names an already migrated database to copy instead of migrating
(the smoke tests in tests/bench run every bench on one)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from povguard.scratch import migrated_database
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def template() -> str | None:
    return os.environ.get("POVGUARD_BENCH_TEMPLATE") or None


@contextmanager
def scratch_database(tag: str) -> Iterator[Settings]:
    server_url = os.environ.get("POVGUARD_DATABASE_URL") or os.environ.get("DATABASE_URL")
    embedded = None
    if not server_url:
        from povguard import embedded as emb

        server_url, embedded = emb.start_postgres(ROOT / ".povguard" / "bench" / "postgres")
    try:
        with migrated_database(
            server_url, f"povguard_bench_{tag}_{os.getpid()}", template=template()
        ) as url:
            yield Settings(demo=True, database_url=url, db_pool_size=25)
    finally:
        if embedded is not None:
            embedded.cleanup()
