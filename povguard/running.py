"""The system ``povguard up`` runs in this folder, found by the other commands.

``up`` writes ``.povguard/running.json`` (mode 600): the database and Redis it uses, whether it
runs in demo mode, whether those servers are the embedded ones, and its pid. Any other command
run in the same folder with no ``DATABASE_URL`` adopts them, with the token key ``up`` keeps in
``.povguard/secret_key``: ``povguard backup``, ``create-user``, ``monitoring follow`` and
``worker --check`` work as they are. When ``up`` has stopped, its embedded PostgreSQL and Redis
are started again for the command's duration (a nightly backup needs no running system)."""

import atexit
import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

STATE_DIR = Path(".povguard")
RUNNING = STATE_DIR / "running.json"
SECRET = STATE_DIR / "secret_key"
SERVICE_PASSWORD = STATE_DIR / "service_password"


class NotConfigured(RuntimeError):
    """No database named and no system running here."""


def configured() -> bool:
    return bool(os.environ.get("DATABASE_URL") or os.environ.get("POVGUARD_DATABASE_URL"))


def _kept(path: Path, length: int) -> str:
    STATE_DIR.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(length))
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key() -> str:
    """The token key of the system in this folder, made on its first ``up``."""
    return _kept(SECRET, 48)


def service_password() -> str:
    """The password monitoring and funds (and ``monitoring follow``) call the registry with."""
    return _kept(SERVICE_PASSWORD, 24)


def record(database_url: str, redis_url: str, *, demo: bool, embedded: bool) -> None:
    state = {
        "database_url": database_url,
        "redis_url": redis_url,
        "demo": demo,
        "embedded": embedded,
        "pid": os.getpid(),
    }
    RUNNING.write_text(json.dumps(state, indent=2))
    RUNNING.chmod(0o600)


def forget() -> None:
    """``up`` stopped: the embedded servers are down, the URLs stay valid for the next start."""
    with contextlib.suppress(OSError, ValueError):
        state = json.loads(RUNNING.read_text())
        state["pid"] = None
        RUNNING.write_text(json.dumps(state, indent=2))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_embedded() -> Any:
    from povguard import embedded

    servers = embedded.start(STATE_DIR.resolve())
    atexit.register(servers.stop)
    return servers


def adopt() -> bool:
    """Take the running system's settings as defaults (explicit variables always win).
    True when this folder has a system to adopt."""
    if configured() or not RUNNING.exists():
        return False
    state = json.loads(RUNNING.read_text())
    if state.get("embedded") and not _alive(state.get("pid")):
        servers = _start_embedded()
        state["database_url"], state["redis_url"] = servers.database_url, servers.redis_url
    os.environ.setdefault("POVGUARD_DATABASE_URL", state["database_url"])
    if not (os.environ.get("REDIS_URL") or os.environ.get("POVGUARD_REDIS_URL")):
        os.environ["POVGUARD_REDIS_URL"] = state["redis_url"]
    if state.get("demo"):
        os.environ.setdefault("POVGUARD_DEMO", "1")
    for variable, path in (
        ("POVGUARD_SECRET_KEY", SECRET),
        ("POVGUARD_SERVICE_PASSWORD", SERVICE_PASSWORD),
    ):
        if path.exists():
            os.environ.setdefault(variable, path.read_text().strip())
    return True


def database_url() -> str:
    """The database to work on: ``DATABASE_URL`` or the running system's. Needs nothing else
    (no token key): a backup job has no use for one."""
    adopt()
    url = os.environ.get("DATABASE_URL") or os.environ.get("POVGUARD_DATABASE_URL")
    if not url:
        raise NotConfigured(
            "no database: set DATABASE_URL, or run this in the folder where `make up` runs"
        )
    return url
