"""The worker: job lines with the request id, try and duration; job metrics; its own
/metrics and /healthz; the ARQ health probe; a graceful stop that waits for running jobs."""

import asyncio
import inspect
import re
import socket

import httpx
import pytest
from arq import Retry
from opentelemetry.trace import SpanKind

from shared import metrics, observability, request_context, tracing
from tests.registry.helpers import id_number
from tests.shared.test_metrics import samples
from workers import maintenance
from workers.main import create_worker
from workers.main import shutdown as worker_shutdown
from workers.observability import WorkerEndpoint, check_health


def _count(counter, job: str) -> float:
    return counter.labels(job)._value.get()


async def test_a_job_runs_under_the_request_id_it_was_enqueued_with(json_log) -> None:
    seen = {}

    async def sample_job(ctx, county: str) -> str:
        seen["request_id"] = request_context.current_request_id()
        return county

    started = _count(metrics.JOBS_STARTED, "sample_job")
    wrapped = observability.observed_job("sample_job", sample_job)
    ctx = {"job_id": "scan:1:522301", "job_try": 2}
    kwargs = request_context.tag_job_kwargs({})
    assert kwargs == {}  # outside a request nothing is added
    result = await wrapped(ctx, "522301", **{request_context.JOB_CONTEXT_KWARG: "rq-job"})
    assert result == "522301"
    assert seen["request_id"] == "rq-job"
    lines = [line for line in json_log.lines() if line.get("job") == "sample_job"]
    assert [line["message"] for line in lines] == [
        "job sample_job started (try 2)",
        "job sample_job succeeded",
    ]
    assert all(line["request_id"] == "rq-job" and line["try"] == 2 for line in lines)
    assert lines[0]["service"] == "registry"  # the capture's service; the worker's is "worker"
    assert lines[1]["outcome"] == "succeeded"
    assert isinstance(lines[1]["duration_ms"], float)
    assert _count(metrics.JOBS_STARTED, "sample_job") == started + 1
    assert metrics.JOB_LAST_SUCCESS.labels("sample_job")._value.get() > 0
    # A job no request enqueued (cron) gets an id of its own; the job id is on its lines.
    await wrapped({"job_id": "cron:x:1", "job_try": 1}, "522323")
    last = json_log.lines()[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", last["request_id"])
    assert last["job_id"] == "cron:x:1"


async def test_retries_and_failures_are_counted_and_logged_without_secrets(json_log) -> None:
    number = id_number()

    async def flaky(ctx) -> None:
        raise Retry(defer=5)

    async def broken(ctx) -> None:
        raise ValueError(f"member {number} not found")

    retried = _count(metrics.JOBS_RETRIED, "flaky")
    failed = _count(metrics.JOBS_FAILED, "broken")
    with pytest.raises(Retry):
        await observability.observed_job("flaky", flaky)({"job_try": 1})
    with pytest.raises(ValueError, match="not found"):
        await observability.observed_job("broken", broken)({"job_try": 3})
    assert _count(metrics.JOBS_RETRIED, "flaky") == retried + 1
    assert _count(metrics.JOBS_FAILED, "broken") == failed + 1
    (retry_line,) = [line for line in json_log.lines() if line.get("outcome") == "retried"]
    assert (retry_line["level"], retry_line["retry_in_s"]) == ("warning", 5.0)
    (failure,) = [
        line for line in json_log.lines() if line.get("job") == "broken" and "outcome" in line
    ]
    assert (failure["level"], failure["try"], failure["outcome"]) == ("error", 3, "failed")
    assert "ValueError" in failure["exception"]
    assert number not in json_log.text


async def test_a_timed_out_job_is_a_failure_and_a_cancelled_one_is_handed_back() -> None:
    async def slow(ctx) -> None:
        await asyncio.sleep(10)

    failed = _count(metrics.JOBS_FAILED, "slow")
    retried = _count(metrics.JOBS_RETRIED, "slow")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(observability.observed_job("slow", slow, timeout_s=0.2)({}), 0.2)
    assert _count(metrics.JOBS_FAILED, "slow") == failed + 1
    task = asyncio.create_task(observability.observed_job("slow", slow, timeout_s=60)({}))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _count(metrics.JOBS_RETRIED, "slow") == retried + 1


async def test_a_job_span_continues_the_trace_that_enqueued_it(spans) -> None:
    provider = tracing.provider_for("monitoring")
    assert provider is not None  # the spans fixture turns tracing on
    with provider.get_tracer("test").start_as_current_span("POST /v1/scans") as request_span:
        kwargs = observability.tag_job_kwargs({})
    assert kwargs[tracing.JOB_TRACE_KWARG].startswith("00-")

    async def scan(ctx) -> None:
        return None

    await observability.observed_job("scan", scan)({"job_id": "j1"}, **kwargs)
    (job_span,) = [s for s in spans.get_finished_spans() if s.name == "job scan"]
    assert job_span.kind == SpanKind.CONSUMER
    assert job_span.context.trace_id == request_span.get_span_context().trace_id
    assert job_span.resource.attributes["service.name"] == "povguard-worker"


def test_the_worker_wraps_every_job_and_waits_for_running_ones_on_sigterm(settings) -> None:
    worker = create_worker(settings)
    job = worker.functions["purge_idempotency_keys"]
    # observed_job wraps with functools.wraps: one level down is the job itself.
    assert inspect.unwrap(job.coroutine) is maintenance.purge_idempotency_keys
    assert inspect.unwrap(worker.functions["cron:purge_idempotency_keys"].coroutine) is (
        maintenance.purge_idempotency_keys
    )
    assert worker._job_completion_wait == settings.job_completion_wait_s == 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_worker_serves_metrics_and_health(queue, settings) -> None:
    await queue.delete(settings.queue_name)
    # Fresh job ids: a job key left by an earlier run would make ARQ refuse the job.
    due = await queue.enqueue_job("purge_idempotency_keys")
    later = await queue.enqueue_job("purge_idempotency_keys", _defer_by=600)
    assert due is not None
    assert later is not None
    port = _free_port()
    endpoint = WorkerEndpoint(queue, settings.queue_name)
    assert await endpoint.start("127.0.0.1", port)
    # A second worker on the host finds the port taken and goes on without it.
    assert not await WorkerEndpoint(queue, settings.queue_name).start("127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            scraped = await http.get("/metrics")
            health = await http.get("/healthz")
            missing = await http.get("/nope")
    finally:
        await endpoint.stop()
        await queue.delete(settings.queue_name, f"arq:job:{due.job_id}", f"arq:job:{later.job_id}")
    assert scraped.status_code == 200
    assert samples(scraped.text, "povguard_queue_depth") == [2.0]
    assert samples(scraped.text, "povguard_queue_ready") == [1.0]
    assert "povguard_job_duration_seconds" in scraped.text
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert missing.status_code == 404


async def test_the_health_probe_sees_a_polling_worker(queue, settings) -> None:
    key = settings.queue_name + ":health-check"
    await queue.delete(key)
    assert await check_health(settings) is False
    worker = create_worker(settings, redis_pool=queue)
    await worker.record_health()
    try:
        assert await check_health(settings) is True
    finally:
        await queue.delete(key)


async def test_on_sigterm_a_running_job_finishes_before_the_worker_stops(
    queue, settings, monkeypatch
) -> None:
    import signal

    from shared import jobs

    finished = asyncio.Event()

    async def sleepy(ctx) -> str:
        await asyncio.sleep(0.6)
        finished.set()
        return "done"

    monkeypatch.setitem(jobs.TASKS, "sleepy", jobs.TaskSpec("sleepy", sleepy, 30, 1, 60))
    monkeypatch.setattr(jobs, "SCHEDULES", [])
    quiet = settings.model_copy(update={"worker_metrics_port": 0, "job_completion_wait_s": 5})
    await queue.delete(settings.queue_name)
    worker = create_worker(quiet, redis_pool=queue, poll_delay=0.05)
    loop = asyncio.get_running_loop()
    try:
        run = asyncio.create_task(worker.async_run())
        job = await queue.enqueue_job("sleepy")
        for _ in range(100):  # until the worker has picked it up
            if worker.tasks:
                break
            await asyncio.sleep(0.05)
        assert worker.tasks, "the worker did not start the job"
        worker.handle_sig_wait_for_completion(signal.SIGTERM)  # what SIGTERM runs
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(run, 10)
        assert finished.is_set()
        assert await job.result(timeout=5) == "done"
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if "engine" in worker.ctx:  # what close() would do, less closing the shared queue
            await worker_shutdown(worker.ctx)
        await queue.delete(settings.queue_name, f"arq:job:{job.job_id}", f"arq:result:{job.job_id}")


async def test_routine_jobs_are_quiet_at_rest_and_their_failures_are_not(json_log) -> None:
    """A worker at rest runs its ticks every few seconds: nothing above debug per run, while
    other jobs and every failure still speak."""
    from shared.observability import observed_job

    async def tick(ctx: dict) -> int:
        return 0

    async def broken(ctx: dict) -> int:
        raise RuntimeError("down")

    await observed_job("webhooks_sweep", tick, 10, routine=True)({"job_try": 1})
    await observed_job("import_ledger", tick, 10)({"job_try": 1})
    with pytest.raises(RuntimeError):
        await observed_job("webhooks_sweep", broken, 10, routine=True)({"job_try": 1})
    said = [line["message"] for line in json_log.lines() if line["level"] not in ("DEBUG", "debug")]
    assert "job webhooks_sweep started (try 1)" not in said
    assert "job webhooks_sweep succeeded" not in said
    assert "job import_ledger succeeded" in said
    assert "job webhooks_sweep failed" in said
