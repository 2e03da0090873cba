"""A PostgreSQL primary and a streaming standby of it, made from PostgreSQL's own binaries for
the replica tests and ``bench/mixed_load.py --replica``: ``initdb`` in a temporary directory
(``wal_level = replica``, trust on 127.0.0.1, replication included), a free port, and a standby
by ``pg_basebackup -R`` that streams from it. Run as the ``postgres`` OS user when we are root
(PostgreSQL refuses to run as root). The machine's own server is left alone: its ``pg_hba``
may not allow replication, and it is not ours to restart."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Tests: durability is of no use and costs fsyncs. Benches pass their own (fsync stays on).
FAST = {"fsync": "off", "full_page_writes": "off"}


def bin_dir() -> Path | None:
    """Where ``initdb``, ``pg_ctl`` and ``pg_basebackup`` are: ``POVGUARD_PG_BIN``, else the
    newest /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else the ``PATH``."""
    chosen = os.environ.get("POVGUARD_PG_BIN")
    candidates = [Path(chosen)] if chosen else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    candidates += [p for p in reversed(versions)]
    found = shutil.which("pg_basebackup")
    candidates += [Path(found).parent] if found else []
    for path in candidates:
        if all((path / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pair:
    """A running primary and standby; URLs name database ``postgres`` on each."""

    bin: Path
    root: Path
    primary_port: int
    standby_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def standby_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.standby_port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def start_standby(self) -> None:
        standby = self.root / "standby"
        self.run("pg_ctl", "-D", str(standby), "-l", str(standby / "log"), "-w", "start")

    def stop_standby(self) -> None:
        self.run("pg_ctl", "-D", str(self.root / "standby"), "-m", "fast", "-w", "stop")


def _configure(data: Path, port: int, settings: Mapping[str, str]) -> None:
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{data.parent}'",
        "wal_level = replica",
        "max_wal_senders = 4",
        "hot_standby = on",
        "hot_standby_feedback = on",
        "max_connections = 200",
        *(f"{name} = '{value}'" for name, value in settings.items()),
    ]
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# povguard.standby\n" + "\n".join(lines) + "\n")


@contextmanager
def streaming_pair(
    settings: Mapping[str, str] = FAST, *, before_backup: "list[str] | None" = None
) -> Iterator[Pair]:
    """Start a primary and a standby streaming from it; stop both and delete them after.
    ``before_backup``: SQL run on the primary (database ``postgres``) before the standby is
    copied from it."""
    tools = bin_dir()
    if tools is None:
        raise FileNotFoundError("PostgreSQL's initdb, pg_ctl and pg_basebackup are not installed")
    root = Path(tempfile.mkdtemp(prefix="povguard-standby-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pair = Pair(tools, root, _free_port(), _free_port())
    primary, standby = root / "primary", root / "standby"
    started: list[Path] = []
    try:
        pair.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip
        _configure(primary, pair.primary_port, settings)
        pair.run("pg_ctl", "-D", str(primary), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary)
        for sql in before_backup or ():
            pair.run("psql", "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
                     "-v", "ON_ERROR_STOP=1", "-c", sql)  # fmt: skip
        pair.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port),
                 "-U", "postgres", "-D", str(standby), "-R", "-X", "stream")  # fmt: skip
        with (standby / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"port = {pair.standby_port}\n")
        pair.start_standby()
        started.append(standby)
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                [*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                 str(tools / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, check=False,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
