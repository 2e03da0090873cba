"""Signal to alert under ``make up``: how long from a department's signal that meets a rule to
the alert in ``GET /v1/alerts``, with the whole system running as ``make up`` runs it.

``povguard up --demo`` is started in a fresh folder (``make up``'s command: migrations, demo
data, the three services and the worker under its supervisor); with no database named, on
embedded PostgreSQL and Redis exactly as ``make up``. With ``POVGUARD_DATABASE_URL`` and
``POVGUARD_REDIS_URL`` set (the bench smoke test), on a scratch database of that server and
that Redis under a queue name of its own. Once the worker polls, for each trial a
department (province scope) posts one ``housing/dangerous_housing`` signal of yesterday for a
member of a demo household the projection holds and no alert names yet, and
``GET /v1/alerts?rule=department_signal`` is polled (every 0.25 s, as the household's
village cadre) until the household's alert shows, listing the signal.

    .venv/bin/python -m bench.signal_to_alert --signals 5

The last line printed is one JSON object: households, trials, per-trial seconds
(``seconds``), ``p50_s``, ``max_s``, ``timeouts`` (no alert within 180 s), ``startup_s``
(from ``up`` to a polling worker).
Target: every signal becomes an alert in under 60 s."""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import text

from bench._scratch import ROOT, scratch_database
from shared import clock
from shared.auth import Principal, Role, issue_token
from shared.db import create_engine
from shared.settings import Settings

PROVINCE = "520000000000"
TIMEOUT_S = 180

# A demo member the projection holds whose household no department_signal alert names yet.
SUBJECTS = """
SELECT m.id_number, h.id AS household_id, h.region_code
  FROM monitoring.households h
  JOIN LATERAL (SELECT id_number FROM monitoring.members x
                 WHERE x.household_id = h.id AND x.departed_on IS NULL
                   AND x.id_number IS NOT NULL LIMIT 1) m ON true
 WHERE NOT EXISTS (SELECT 1 FROM monitoring.alerts a
                    WHERE a.household_id = h.id AND a.rule = 'department_signal')
 ORDER BY h.region_code, h.id
 LIMIT :n
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def system(households: int, folder: Path) -> Iterator[tuple[dict[str, int], float, str]]:
    """``povguard up --demo`` in ``folder``: its ports, how long it took to start, and the
    database it uses; stopped (SIGTERM to its process group, as Ctrl-C) afterwards."""
    ports = {name: _free_port() for name in ("registry", "monitoring", "funds", "worker")}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POVGUARD_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "POVGUARD_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
        "POVGUARD_MONITORING_URL": f"http://127.0.0.1:{ports['monitoring']}",
        "POVGUARD_FUNDS_URL": f"http://127.0.0.1:{ports['funds']}",
        "POVGUARD_WORKER_METRICS_PORT": str(ports["worker"]),
        "POVGUARD_DEMO_HOUSEHOLDS": str(households),
        "PYTHONPATH": str(ROOT),
    }
    with contextlib.ExitStack() as stack:
        if os.environ.get("POVGUARD_DATABASE_URL") and os.environ.get("POVGUARD_REDIS_URL"):
            settings = stack.enter_context(scratch_database("signal_alert"))
            env |= {
                "POVGUARD_DATABASE_URL": settings.database_url,
                "POVGUARD_REDIS_URL": os.environ["POVGUARD_REDIS_URL"],
                "POVGUARD_QUEUE_NAME": f"povguard:bench:{os.getpid()}",
            }
        log_path = folder / "up.log"
        started = time.monotonic()
        up = subprocess.Popen(
            [sys.executable, "-m", "povguard", "up", "--demo"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for_worker(up, log_path, ports["worker"])
            startup = time.monotonic() - started
            # What ``up`` said it started (embedded servers, demo data...), for the record.
            for line in log_path.read_text().splitlines():
                if any(word in line for word in ("embedded", "demo", "household", "worker")):
                    print(f"up: {line.strip()}", file=sys.stderr)
            state = json.loads((folder / ".povguard" / "running.json").read_text())
            yield ports, startup, state["database_url"]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(up.pid, signal.SIGTERM)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()


def _wait_for_worker(up: subprocess.Popen[bytes], log_path: Path, port: int) -> None:
    deadline = time.monotonic() + 900  # demo data at 3,000 households on a busy machine
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise RuntimeError(f"povguard up exited:\n{log_path.read_text()[-3000:]}")
        if "worker running" in log_path.read_text():
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError(f"povguard up did not start:\n{log_path.read_text()[-3000:]}")


async def subjects(database_url: str, n: int) -> list[Any]:
    """``n`` subjects, once the monitoring follower has projected that many households."""
    engine = create_engine(Settings(demo=True, database_url=database_url), "povguard-bench")
    try:
        deadline = time.monotonic() + 600
        while True:
            async with engine.connect() as conn:
                rows = list(await conn.execute(text(SUBJECTS), {"n": n}))
            if len(rows) >= n or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(1)
    finally:
        await engine.dispose()


async def trial(client: httpx.AsyncClient, settings: Settings, subject: Any) -> float:
    department = Principal(sub="bench-department", role=Role.department, region_code=PROVINCE)
    cadre = Principal(sub="bench-cadre", role=Role.village_cadre, region_code=subject.region_code)
    posting = {"Authorization": f"Bearer {issue_token(settings, department)}"}
    reading = {"Authorization": f"Bearer {issue_token(settings, cadre)}"}
    item = {
        "source": "housing",
        "kind": "dangerous_housing",
        "id_number": subject.id_number,
        "occurred_on": (clock.today() - timedelta(days=1)).isoformat(),
        "external_ref": f"bench-{uuid4().hex[:12]}",
    }
    started = time.monotonic()
    answer = await client.post("/v1/signals", json={"items": [item]}, headers=posting)
    answer.raise_for_status()
    [result] = answer.json()["items"]
    if result["status"] != "created" or not result["matched"]:
        raise RuntimeError(f"the signal was not taken as a match: {result}")
    while time.monotonic() - started < TIMEOUT_S:
        alerts = await client.get(
            "/v1/alerts",
            params={"rule": "department_signal", "limit": 200},
            headers=reading,
        )
        alerts.raise_for_status()
        for alert in alerts.json()["items"]:
            if alert["household_id"] == str(subject.household_id):
                if result["id"] not in alert["signal_ids"]:
                    raise RuntimeError(f"the alert does not list the signal: {alert}")
                return time.monotonic() - started
        await asyncio.sleep(0.25)
    return float(TIMEOUT_S)  # counted in ``timeouts``


async def measure(ports: dict[str, int], database_url: str, folder: Path, n: int) -> list[float]:
    secret = (folder / ".povguard" / "secret_key").read_text().strip()
    settings = Settings(demo=True, secret_key=secret)
    chosen = await subjects(database_url, n)
    timings = []
    base = f"http://127.0.0.1:{ports['monitoring']}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for subject in chosen:
            timings.append(await trial(client, settings, subject))
            print(f"signal to alert: {timings[-1]:.2f} s", file=sys.stderr)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signals", type=int, default=5, help="trials, one after another")
    parser.add_argument("--households", type=int, default=3000, help="demo households")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="povguard-bench-") as tmp:
        folder = Path(tmp)
        with system(args.households, folder) as (ports, startup, database_url):
            timings = asyncio.run(measure(ports, database_url, folder, args.signals))
    ordered = sorted(timings)
    print(
        json.dumps(
            {
                "households": args.households,
                "trials": len(timings),
                "seconds": [round(t, 2) for t in timings],
                "p50_s": round(ordered[len(ordered) // 2], 2) if ordered else None,
                "max_s": round(ordered[-1], 2) if ordered else None,
                "timeouts": sum(1 for t in timings if t >= TIMEOUT_S),
                "startup_s": round(startup, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
