# ruff: noqa: F811  (fixtures of tests/monitoring and tests/funds, imported by name)
"""Jobs always finish or say why: a job is written with its work (the outbox), so a request
that commits while Redis is away still answers 2xx and its job is sent later by the relay;
the sweeper dispatches work whose heartbeat stopped again, and fails it with the reason after
its last attempt; a Redis error in a request is a 503 to retry, a value the database cannot
take a 422."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from fastapi import APIRouter, FastAPI
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import Integer, bindparam, text

from services.monitoring.alerts import jobs as scan_jobs
from services.registry.database import JobOutbox as RegistryOutbox
from shared import jobs, outbox
from shared.app import create_service_app
from shared.auth import Role
from shared.db import SessionDep
from shared.settings import Settings
from tests.conftest import PUAN, PUAN_VILLAGE, XINGYI, ApiClient, wire_app
from tests.funds.conftest import funds, registry_stub  # noqa: F401  (fixtures)
from tests.monitoring.conftest import feed, monitoring, registry_http  # noqa: F401  (fixtures)
from tests.registry.test_imports import csv_bytes, ids, member
from workers import maintenance
from workers.main import create_worker

PROVINCE = "520000000000"


@pytest.fixture
async def dead_queue(settings: Settings) -> AsyncIterator[Any]:
    """A queue whose Redis refuses every connection."""
    queue = jobs.connect_queue(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    yield queue
    await queue.aclose()
    outbox._kick_paused_until[0] = 0.0  # later tests kick again at once


async def _outbox(session: Any, schema: str) -> list[tuple[str, list[Any], str]]:
    rows = await session.execute(
        text(f"SELECT name, args, job_id FROM {schema}.job_outbox ORDER BY id")
    )
    return [tuple(r) for r in rows]


async def test_writes_that_queue_jobs_succeed_while_redis_is_down_and_the_relay_sends_them(
    registry,
    monitoring,
    funds,
    villages,
    feed,
    session,
    dead_queue,
    job_ctx,
    queue,
) -> None:
    for client in (registry, monitoring, funds):
        client.app.state.arq = dead_queue
    officer = registry.as_(Role.county_officer, XINGYI)
    upload = await officer.post(
        "/v1/imports",
        files={"file": ("a.csv", csv_bytes([member("O1", ids(1)[0])]))},
        data={"kind": "households"},
    )
    assert upload.status_code == 202, upload.text
    import_id = upload.json()["import_id"]
    await feed.household(PUAN_VILLAGE, income={2021: "5000.00"})
    scan = await monitoring.as_(Role.province_admin, PROVINCE).post(
        "/v1/scans", json={"region_code": PUAN, "year": 2021}
    )
    assert scan.status_code == 202, scan.text
    compliance = await funds.as_(Role.county_officer, XINGYI).post("/v1/compliance/scans", json={})
    assert compliance.status_code == 202, compliance.text
    declaration = await monitoring.post(
        "/v1/declarations",
        json={
            "name": "张三",
            "id_number": ids(1, "522323")[0],
            "phone": "13800007777",
            "village_code": PUAN_VILLAGE,
            "reason": "illness",
            "description": "家人重病住院",
        },
    )
    # The public declaration page is the exception: without Redis its rate limits cannot hold,
    # so it refuses before writing anything (issue 15): a 503 to retry, and no orphan.
    assert declaration.status_code == 503, declaration.text
    assert declaration.headers["Retry-After"]

    # Each committed write holds its job: none is an orphan.
    assert await _outbox(session, "registry") == [
        ("registry.import_ledger", [import_id], f"import:{import_id}")
    ]
    scan_id = scan.json()["scan_id"]
    assert await _outbox(session, "monitoring") == [
        ("scan_county", [scan_id, PUAN], f"scan:{scan_id}:{PUAN}")
    ]
    assert [r[1] for r in await _outbox(session, "funds")] == [[compliance.json()["id"]]]

    # While Redis is away the relay keeps them, and notes why on the first.
    with pytest.raises(RedisConnectionError):
        await maintenance.relay_outbox({**job_ctx, "redis": dead_queue})
    noted = (
        await session.execute(text("SELECT send_attempts, last_error FROM registry.job_outbox"))
    ).one()
    assert noted.send_attempts == 1
    assert "ConnectionError" in noted.last_error

    # Redis is back: the relay hands them over and empties the outboxes.
    await queue.delete(job_ctx["settings"].queue_name)
    assert await maintenance.relay_outbox(job_ctx) == 3
    queued = {job.job_id for job in await queue.queued_jobs()}
    assert {f"import:{import_id}", f"scan:{scan_id}:{PUAN}"} <= queued
    for schema in ("registry", "monitoring", "funds"):
        assert await _outbox(session, schema) == []
    await queue.delete(job_ctx["settings"].queue_name)


async def test_after_commit_the_writer_sends_its_jobs_itself(registry, villages, session, queue):
    officer = registry.as_(Role.county_officer, XINGYI)
    upload = await officer.post(
        "/v1/imports",
        files={"file": ("a.csv", csv_bytes([member("O2", ids(1)[0])]))},
        data={"kind": "households"},
    )
    import_id = upload.json()["import_id"]
    assert await _outbox(session, "registry") == []
    assert await queue.exists(f"arq:job:import:{import_id}")


async def test_a_rolled_back_transaction_leaves_no_job(session_maker, session) -> None:
    async with session_maker() as s, s.begin():
        outbox.Outbox(RegistryOutbox).defer(s, "registry.import_ledger", "x", job_id="never")
        await s.flush()
        await s.rollback()
    assert await _outbox(session, "registry") == []


def _app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.get("/queue")
    async def queue_down() -> None:
        raise RedisConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    @router.get("/year")
    async def year(session: SessionDep, y: int) -> dict[str, int]:
        # A bound beyond int32: asyncpg refuses it itself, before the server sees it.
        stmt = text("SELECT CAST(:y AS integer)").bindparams(bindparam("y", type_=Integer))
        return {"y": await session.scalar(stmt, {"y": y})}

    return create_service_app(
        name="t", title="t", description="t", routers=[router], tags=[], settings=settings
    )


async def test_a_redis_error_in_a_request_is_a_503_problem_with_retry_after(
    settings, session_maker, queue
) -> None:
    async with ApiClient(wire_app(_app(settings), session_maker, queue), settings) as client:
        response = await client.get("/v1/queue")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert "Connection refused" not in response.text


async def test_a_value_the_driver_refuses_is_a_422_not_a_500(settings, session_maker, queue):
    async with ApiClient(wire_app(_app(settings), session_maker, queue), settings) as client:
        response = await client.get("/v1/year", params={"y": 8589934592})
    assert response.status_code == 422
    assert response.json()["title"] == "Validation failed"


def test_no_job_runs_long_so_a_killed_workers_job_is_not_held_for_an_hour(settings) -> None:
    worker = create_worker(settings)
    assert worker.in_progress_timeout_s <= jobs.MAX_JOB_S + 10 <= 200
    with pytest.raises(ValueError, match="at most"):
        jobs.task(name="too-long", timeout_s=3600)


async def _import_row(session: Any, import_id: str) -> dict[str, Any]:
    row = (
        await session.execute(
            text("SELECT status, attempts, error FROM registry.imports WHERE id = :i"),
            {"i": UUID(import_id)},
        )
    ).one()
    return dict(row._mapping)


async def test_the_sweeper_redispatches_stuck_work_then_fails_it_with_the_reason(
    registry,
    monitoring,
    feed,
    villages,
    session,
    job_ctx,
) -> None:
    officer = registry.as_(Role.county_officer, XINGYI)
    upload = await officer.post(
        "/v1/imports",
        files={"file": ("s.csv", csv_bytes([member("S1", ids(1)[0])]))},
        data={"kind": "households"},
    )
    import_id = upload.json()["import_id"]
    await feed.household(PUAN_VILLAGE, income={2021: "5000.00"})
    scan_id = (
        await monitoring.as_(Role.province_admin, PROVINCE).post(
            "/v1/scans", json={"region_code": PUAN, "year": 2021}
        )
    ).json()["scan_id"]
    # Both started on a worker that died: running, with a heartbeat long stopped.
    await session.execute(
        text(
            "UPDATE registry.imports SET status = 'running', "
            "heartbeat_at = now() - interval '1 hour' WHERE id = :i"
        ),
        {"i": UUID(import_id)},
    )
    await session.execute(
        text(
            "UPDATE monitoring.scan_counties SET state = 'running', "
            "heartbeat_at = now() - interval '1 hour' WHERE scan_id = :i"
        ),
        {"i": UUID(scan_id)},
    )
    await session.commit()
    ctx = {**job_ctx, "redis": None}  # the jobs it dispatches stay in the outboxes to look at
    result = await maintenance.sweep_stuck_work(ctx)
    assert result["registry.imports"] == {"redispatched": 1, "failed": 0}
    assert result["monitoring.scans"] == {"redispatched": 1, "failed": 0}
    assert await _import_row(session, import_id) == {
        "status": "queued",
        "attempts": 1,
        "error": None,
    }
    assert [r[0] for r in await _outbox(session, "registry")] == ["registry.import_ledger"]
    assert [r[1] for r in await _outbox(session, "monitoring")] == [[scan_id, PUAN]]
    # Fresh work is left alone.
    assert (await maintenance.sweep_stuck_work(ctx))["registry.imports"] == {
        "redispatched": 0,
        "failed": 0,
    }

    # It stops again and again: after the last attempt it is failed, and says why.
    attempts = job_ctx["settings"].job_attempts
    await session.execute(
        text(
            "UPDATE registry.imports SET status = 'running', attempts = :n, "
            "heartbeat_at = now() - interval '1 hour' WHERE id = :i"
        ),
        {"i": UUID(import_id), "n": attempts},
    )
    await session.execute(
        text(
            "UPDATE monitoring.scan_counties SET state = 'running', attempts = :n, "
            "heartbeat_at = now() - interval '1 hour' WHERE scan_id = :i"
        ),
        {"i": UUID(scan_id), "n": attempts},
    )
    await session.commit()
    result = await maintenance.sweep_stuck_work(ctx)
    assert result["registry.imports"]["failed"] == 1
    failed = await _import_row(session, import_id)
    assert failed["status"] == "failed"
    assert "stopped making progress" in failed["error"]
    read = (await officer.get(f"/v1/imports/{import_id}")).json()
    assert read["status"] == "failed"
    assert read["error"] == failed["error"]
    assert read["attempts"] == attempts
    scan = (await monitoring.as_(Role.province_admin, PROVINCE).get(f"/v1/scans/{scan_id}")).json()
    assert scan["state"] == "failed"
    assert "stopped making progress" in scan["error"]
    # A late copy of the job finds the county failed and leaves it so.
    assert await scan_jobs.scan_county(job_ctx, scan_id, PUAN) == {}


async def test_a_compliance_scan_whose_worker_died_is_redispatched_then_failed(
    funds, session, job_ctx
) -> None:
    officer = funds.as_(Role.county_officer, XINGYI)
    scan_id = (await officer.post("/v1/compliance/scans", json={})).json()["id"]
    stuck = text(
        "UPDATE funds.compliance_scans SET state = 'running', attempts = :n, "
        "heartbeat_at = now() - interval '1 hour' WHERE id = :i"
    )
    await session.execute(stuck, {"i": UUID(scan_id), "n": 0})
    await session.commit()
    ctx = {**job_ctx, "redis": None}
    result = await maintenance.sweep_stuck_work(ctx)
    assert result["funds.compliance_scans"] == {"redispatched": 1, "failed": 0}
    assert (await officer.get(f"/v1/compliance/scans/{scan_id}")).json()["state"] == "queued"
    await session.execute(stuck, {"i": UUID(scan_id), "n": job_ctx["settings"].job_attempts})
    await session.commit()
    assert (await maintenance.sweep_stuck_work(ctx))["funds.compliance_scans"]["failed"] == 1
    read = (await officer.get(f"/v1/compliance/scans/{scan_id}")).json()
    assert read["state"] == "failed"
    assert "stopped making progress" in read["error"]
