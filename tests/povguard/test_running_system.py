"""The commands an operator types beside a running ``make up`` find that system by themselves:
no DATABASE_URL, no secret, no demo flag. Errors are one line; ``--debug`` shows the rest."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from povguard import backup

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bare_environment() -> dict[str, str]:
    """The environment of an operator's shell: nothing of Povguard's."""
    drop = ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POVGUARD_") and k not in drop and not k.startswith("PYTEST")
    }


def povguard(folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "povguard", *args],
        cwd=folder,
        env=env or bare_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def running_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``povguard up`` in a fresh project folder, on its embedded PostgreSQL and Redis. Only
    its ports are chosen, so it cannot collide with another run on this machine."""
    folder = tmp_path_factory.mktemp("project")
    ports = {name: free_port() for name in ("registry", "monitoring", "funds", "worker")}
    env = bare_environment() | {
        "POVGUARD_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "POVGUARD_MONITORING_URL": f"http://127.0.0.1:{ports['monitoring']}",
        "POVGUARD_FUNDS_URL": f"http://127.0.0.1:{ports['funds']}",
        "POVGUARD_WORKER_METRICS_PORT": str(ports["worker"]),
        "PYTHONPATH": str(ROOT),
    }
    log = (folder / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "povguard", "up"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while "worker running" not in (folder / "up.log").read_text():
            assert up.poll() is None, (folder / "up.log").read_text()
            assert time.monotonic() < deadline, (folder / "up.log").read_text()
            time.sleep(0.5)
        # The worker is polling once its health endpoint answers.
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{ports['worker']}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield folder
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()


def test_commands_beside_make_up_need_no_environment(running_system: Path) -> None:
    folder = running_system
    # PYTHONPATH only so that `python -m povguard` imports this checkout, as the venv does.
    env = bare_environment() | {"PYTHONPATH": str(ROOT)}

    archive = folder / "nightly.dump"
    done = povguard(folder, "backup", str(archive), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert backup.archive_needs(archive) is not None

    made = povguard(
        folder,
        "create-user",
        "xingyi-officer",
        "--role",
        "county_officer",
        "--region",
        "522301000000",
        "--password",
        "a-long-password-for-the-county-office",
        env=env,
    )
    assert made.returncode == 0, made.stdout + made.stderr

    checked = povguard(folder, "worker", "--check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "a worker is polling the queue" in checked.stdout


def test_an_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    # A folder where no system runs and no database is named.
    env = bare_environment() | {"PYTHONPATH": str(ROOT)}
    failed = povguard(
        tmp_path,
        "create-user",
        "x",
        "--role",
        "county_officer",
        "--region",
        "522301000000",
        "--password",
        "p" * 20,
        env=env,
    )
    assert failed.returncode == 1
    said = (failed.stdout + failed.stderr).strip().splitlines()
    assert len(said) == 1, said
    assert "--debug" in said[0]
    assert "Traceback" not in failed.stderr

    debugged = povguard(
        tmp_path,
        "--debug",
        "create-user",
        "x",
        "--role",
        "county_officer",
        "--region",
        "522301000000",
        "--password",
        "p" * 20,
        env=env,
    )
    assert debugged.returncode != 0
    assert "Traceback" in debugged.stderr


def test_backup_needs_only_the_database(
    servers: tuple[str, str], tmp_path: Path, database_url: str
) -> None:
    env = bare_environment() | {"PYTHONPATH": str(ROOT), "DATABASE_URL": database_url}
    done = povguard(tmp_path, "backup", str(tmp_path / "b.dump"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
