"""The worker's side of operations: ``/metrics`` (jobs by name and outcome, durations, queue
depth) and ``/healthz`` on ``POVGUARD_WORKER_METRICS_PORT`` (default 8004; 0: none), tracing of
its engine and HTTP client, and the health probe behind ``povguard worker --check``.

The endpoint is a small asyncio server on the worker's own loop, so the scrape reads the
queue with the worker's Redis connection and no thread or framework is added. When several
workers share a host only the first binds the port; with ``PROMETHEUS_MULTIPROC_DIR`` set its
answer covers them all."""

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq.connections import ArqRedis
from prometheus_client.core import GaugeMetricFamily

from shared import jobs, metrics, observability, tracing
from shared.settings import Settings

log = logging.getLogger("povguard.worker")
HEALTH_KEY_SUFFIX = ":health-check"  # ARQ's: every worker refreshes it while it polls


class WorkerEndpoint:
    """``GET /metrics`` and ``GET /healthz`` over plain HTTP/1.1 (one request a connection)."""

    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis, self.queue_name = redis, queue_name
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> bool:
        try:
            self.server = await asyncio.start_server(self._serve, host, port)
        except OSError as exc:
            log.warning("worker metrics not served on %s:%d: %s", host, port, exc.strerror)
            return False
        log.info("worker metrics on http://%s:%d/metrics", host, port)
        return True

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    async def queue_families(self) -> list[Any]:
        now_ms = int(time.time() * 1000)
        depth = await self.redis.zcard(self.queue_name)
        ready = await self.redis.zcount(self.queue_name, "-inf", now_ms)
        # ARQ scores a job with the time it is due: the oldest due job waited since then.
        oldest = await self.redis.zrangebyscore(
            self.queue_name, "-inf", now_ms, start=0, num=1, withscores=True
        )
        waited_s = max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0.0
        return [
            GaugeMetricFamily(
                "povguard_queue_depth", "Jobs in the queue (due or deferred).", depth
            ),
            GaugeMetricFamily("povguard_queue_ready", "Jobs in the queue that are due now.", ready),
            GaugeMetricFamily(
                "povguard_queue_oldest_ready_age_seconds",
                "How long the oldest due job has waited for a worker (0 when none waits).",
                waited_s,
            ),
        ]

    async def healthy(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self.redis.ping(), 2))
        except Exception:
            return False

    async def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            try:
                extra = await self.queue_families()
            except Exception:
                log.warning("queue depth unavailable", exc_info=True)
                extra = []
            return 200, metrics.CONTENT_TYPE, metrics.render(extra)
        if path == "/healthz":
            if await self.healthy():
                return 200, "application/json", b'{"status":"ok"}'
            return 503, "application/json", b'{"status":"redis unreachable"}'
        return 404, "text/plain", b"not found"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)).strip():
                pass  # headers: nothing in them matters here
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            status, content_type, body = await self.answer(path)
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (body if parts[:1] != ["HEAD"] else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


async def start(ctx: dict[str, Any]) -> None:
    """Worker startup: trace the engine and HTTP client, pass request ids on, serve metrics."""
    settings: Settings = ctx["settings"]
    tracing.instrument_engine(ctx["engine"], "worker")
    http = ctx["http"]
    http.event_hooks["request"] = [
        *http.event_hooks.get("request", []),
        observability.add_request_id,
    ]
    tracing.instrument_http(http, "worker")
    metrics.watch_pool(ctx["engine"], "worker")
    if settings.worker_metrics_port and ctx.get("redis") is not None:
        endpoint = WorkerEndpoint(ctx["redis"], settings.queue_name)
        if await endpoint.start(settings.worker_metrics_host, settings.worker_metrics_port):
            ctx["metrics_endpoint"] = endpoint


async def stop(ctx: dict[str, Any]) -> None:
    endpoint: WorkerEndpoint | None = ctx.pop("metrics_endpoint", None)
    if endpoint is not None:
        await endpoint.stop()


async def check_health(settings: Settings) -> bool:
    """Whether a worker on this queue has polled it within its health-check interval (ARQ
    refreshes the key every ``health_check_interval`` seconds, with that expiry plus one)."""
    redis = await jobs.create_queue(settings)
    try:
        return bool(await redis.get(settings.queue_name + HEALTH_KEY_SUFFIX))
    finally:
        await redis.aclose()
