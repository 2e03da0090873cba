"""Jobs travel as JSON, not pickle: a job's arguments are JSON values, on every pool and in the
worker, so nothing read from Redis can run code and a wrongly typed argument fails at once."""

import json
import pickle
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from arq.jobs import DeserializationError, SerializationError

from shared import jobs, outbox
from shared.db import after_commit
from workers.main import create_worker


async def _stored(queue: Any, job_id: str) -> dict[str, Any]:
    raw = await queue.get(f"arq:job:{job_id}")
    return json.loads(raw)


async def test_a_job_is_stored_as_json_and_a_uuid_argument_is_refused(queue, settings) -> None:
    job_id = f"test-json:{uuid4()}"
    try:
        await queue.enqueue_job("import_ledger", str(uuid4()), _job_id=job_id, request_id="r-1")
        stored = await _stored(queue, job_id)
        assert stored["f"] == "import_ledger"
        assert isinstance(stored["a"][0], str)
        assert stored["k"] == {"request_id": "r-1"}
        with pytest.raises(SerializationError):
            await queue.enqueue_job("import_ledger", uuid4(), _job_id=f"{job_id}:uuid")
        assert await queue.get(f"arq:job:{job_id}:uuid") is None
    finally:
        await queue.delete(f"arq:job:{job_id}", settings.queue_name)
    # The lazily connecting queue the services use says the same.
    lazy = jobs.connect_queue(settings)
    try:
        assert lazy.job_serializer is jobs.serialize
        assert lazy.job_deserializer is jobs.deserialize
    finally:
        await lazy.aclose()


def test_the_worker_reads_json_and_never_unpickles(settings) -> None:
    worker = create_worker(settings)
    assert worker.job_serializer is jobs.serialize
    assert worker.job_deserializer is jobs.deserialize
    data = {"t": 1, "f": "scan_county", "a": ["id", "522301000000"], "k": {}, "et": 1}
    assert jobs.deserialize(jobs.serialize(data)) == data
    with pytest.raises(ValueError):
        jobs.deserialize(pickle.dumps(data))
    # A failed job's result is its exception: kept as its type and message.
    assert json.loads(jobs.serialize({"r": ValueError("boom")}))["r"] == "ValueError: boom"


async def test_the_outbox_sends_json_typed_jobs(queue, settings) -> None:
    row = SimpleNamespace(
        id=uuid4(),
        name="scan_county",
        args=[str(uuid4()), "522301000000"],
        kwargs={"request_id": "r-2"},
        job_id=f"test-outbox:{uuid4()}",
    )
    try:
        sent, failure = await outbox._send(queue, [row])
        assert (sent, failure) == ([row.id], None)
        assert (await _stored(queue, row.job_id))["a"] == row.args
    finally:
        await queue.delete(f"arq:job:{row.job_id}", settings.queue_name)


def test_deserialization_errors_are_arqs_own() -> None:
    # ARQ turns a message it cannot read into DeserializationError (a failed job, not a crash).
    from arq.jobs import deserialize_job

    with pytest.raises(DeserializationError):
        deserialize_job(b"\x80\x04not json", deserializer=jobs.deserialize)


async def test_a_jobs_after_commit_hooks_run_once_it_commits_and_never_on_rollback(
    job_ctx,
) -> None:
    """What a job's transaction registers for after its commit (an account's news, the jobs
    it deferred) runs then, as for a request; a failed job's never runs."""
    heard: list[str] = []

    async def note(what: str) -> None:
        heard.append(what)

    async with jobs.unit_of_work(job_ctx) as session:
        after_commit(session, lambda: note("committed"))
    assert heard == ["committed"]

    async def failing_job() -> None:
        async with jobs.unit_of_work(job_ctx) as session:
            after_commit(session, lambda: note("rolled back"))
            raise RuntimeError("the job failed")

    with pytest.raises(RuntimeError):
        await failing_job()
    assert heard == ["committed"]
