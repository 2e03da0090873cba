"""``povguard backup`` / ``povguard restore``: a pg_dump archive (custom format) of the three
schemas and Alembic's version table, restored into an empty database.

The client tools come from ``POVGUARD_PG_BIN`` if set, else the first of ``PATH`` and the
``pgserver`` wheel (embedded mode) whose major version is at least the server's: pg_dump refuses
a newer server."""

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from shared.settings import Settings

SCHEMAS = ("registry", "monitoring", "funds")
# Alembic keeps its version table in public; the schema itself exists in every new database.
VERSION_SCHEMA = "public"


class BackupError(RuntimeError):
    """What went wrong, worded for the operator."""


@dataclass(frozen=True)
class Connection:
    """A libpq URL without its password, which travels in ``PGPASSWORD`` instead (a password on
    a command line is visible to every user of the machine)."""

    url: str
    password: str | None

    @classmethod
    def from_database_url(cls, database_url: str) -> "Connection":
        dsn = Settings(demo=True, database_url=database_url).asyncpg_dsn()
        parts = urlsplit(dsn)
        password = unquote(parts.password) if parts.password else None
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
        return cls(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), password)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


async def _server_major(database_url: str) -> int:
    conn = await asyncpg.connect(Settings(demo=True, database_url=database_url).asyncpg_dsn())
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


async def _existing_tables(database_url: str) -> list[str]:
    conn = await asyncpg.connect(Settings(demo=True, database_url=database_url).asyncpg_dsn())
    try:
        rows = await conn.fetch(
            "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables"
            " WHERE table_schema = ANY($1::text[])"
            " OR (table_schema = $2 AND table_name = 'alembic_version') ORDER BY 1",
            list(SCHEMAS),
            VERSION_SCHEMA,
        )
        return [row["name"] for row in rows]
    finally:
        await conn.close()


def _candidate_dirs() -> list[Path]:
    if explicit := os.environ.get("POVGUARD_PG_BIN"):
        return [Path(explicit)]
    dirs = []
    if on_path := shutil.which("pg_dump"):
        dirs.append(Path(on_path).parent)
    try:
        import pgserver  # the demo extra: only when running embedded

        dirs.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    return dirs


def _major(tool: Path) -> int | None:
    try:
        out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


# pg_dump's custom archives start "PGDMP" and the archive format's version; each format is
# first written (and so first readable) by this PostgreSQL release.
ARCHIVE_FORMAT_SINCE = {(1, 12): 9, (1, 13): 11, (1, 14): 12, (1, 15): 16, (1, 16): 17}


def archive_needs(path: Path) -> tuple[str, int] | None:
    """The archive format of a ``backup`` file and the oldest pg_restore that reads it, or
    None when the file is no pg_dump custom archive."""
    with path.open("rb") as file:
        head = file.read(8)
    if len(head) < 8 or not head.startswith(b"PGDMP"):
        return None
    version = (head[5], head[6])
    newest = max(ARCHIVE_FORMAT_SINCE.values())
    return f"{version[0]}.{version[1]}", ARCHIVE_FORMAT_SINCE.get(version, newest + 1)


def find_tool(name: str, server_major: int, why: str = "") -> Path:
    """``pg_dump`` or ``pg_restore`` at least as new as the server (and, for pg_restore, as
    the archive); ``why`` says which of them set the bar."""
    seen = []
    for directory in _candidate_dirs():
        tool = directory / name
        major = _major(tool)
        if major is None:
            continue
        if major >= server_major:
            return tool
        seen.append(f"{tool} ({major})")
    found = f"; found only {', '.join(seen)}" if seen else ""
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer{why}{found}: install the PostgreSQL "
        f"{server_major} client tools or set POVGUARD_PG_BIN to their directory"
    )


def _run(args: list[str], conn: Connection) -> None:
    result = subprocess.run(args, env=conn.env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()}")


def backup(database_url: str, path: Path) -> None:
    """Write the three schemas and the migration version to ``path`` (pg_dump custom format,
    compressed; readable by ``pg_restore -l``)."""
    conn = Connection.from_database_url(database_url)
    pg_dump = find_tool("pg_dump", asyncio.run(_server_major(database_url)))
    schemas = [f"--schema={name}" for name in (*SCHEMAS, VERSION_SCHEMA)]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    # Written beside and renamed: a failed dump never leaves a file that looks like a backup.
    _run([str(pg_dump), "--format=custom", f"--file={partial}", *schemas, conn.url], conn)
    partial.replace(path)


def restore(database_url: str, path: Path) -> None:
    """Restore a ``backup`` archive into an empty database (created with ``createdb``, no
    migrations run), in one transaction: it lands whole or not at all. The pg_restore used is
    as new as the database and the archive: a backup from a newer PostgreSQL is restored with
    its own release's pg_restore, or refused as the version mismatch it is. Objects are owned by
    the restoring role; run deploy/database-roles.sql afterwards to grant the service roles."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    needs = archive_needs(path)
    if needs is None:
        raise BackupError(f"{path} is not a pg_dump archive (made by povguard backup)")
    existing = asyncio.run(_existing_tables(database_url))
    if existing:
        raise BackupError(
            f"the database is not empty ({len(existing)} tables, e.g. {existing[0]}): "
            "restore into a new database"
        )
    conn = Connection.from_database_url(database_url)
    server_major = asyncio.run(_server_major(database_url))
    archive_format, archive_major = needs
    why = ""
    if archive_major > server_major:
        why = (
            f" (a version mismatch: the backup is archive format {archive_format}, written by "
            f"pg_dump of PostgreSQL {archive_major} or newer, and the database is PostgreSQL "
            f"{server_major})"
        )
    pg_restore = find_tool("pg_restore", max(server_major, archive_major), why)
    listing = subprocess.run([str(pg_restore), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump archive: {listing.stderr.strip()}")
    # The public schema (and its comment) already exist in every new database.
    public = re.compile(rf"\b(SCHEMA - {VERSION_SCHEMA}|COMMENT - SCHEMA {VERSION_SCHEMA})\b")
    entries = [line for line in listing.stdout.splitlines() if not public.search(line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as toc:
        toc.write("\n".join(entries) + "\n")
    try:
        _run(
            [
                str(pg_restore),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                f"--use-list={toc.name}",
                f"--dbname={conn.url}",
                str(path),
            ],
            conn,
        )
    finally:
        Path(toc.name).unlink(missing_ok=True)
