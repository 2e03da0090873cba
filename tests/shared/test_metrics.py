"""/metrics on every service: requests by route template and status, latency histograms,
the database pool, and counters shared by every process behind one port."""

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from shared import metrics
from shared.auth import Role
from tests.conftest import ROOT, XINGYI


def samples(text: str, name: str, **labels: str) -> list[float]:
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_and_timed_by_route_template_and_status(registry) -> None:
    route = "/v1/households/{household_id}"
    labels = {"service": "registry", "method": "GET", "route": route}
    before = samples(await scrape(registry), "povguard_http_requests_total", status="401", **labels)
    for _ in range(3):
        await registry.get("/v1/households/0b7e0f6e-8a43-4c0c-9d0c-6f7a0d1b8f11")
    officer = registry.as_(Role.county_officer, XINGYI)
    await officer.get("/v1/households/0b7e0f6e-8a43-4c0c-9d0c-6f7a0d1b8f11")
    await registry.get("/v1/no/such/path/522301198005170011")
    text = await scrape(registry)
    assert samples(text, "povguard_http_requests_total", status="401", **labels) == [
        (before[0] if before else 0) + 3
    ]
    assert samples(text, "povguard_http_requests_total", status="404", **labels)
    assert samples(
        text, "povguard_http_request_duration_seconds_bucket", status="401", le="+Inf", **labels
    )
    # A path no route matches is one label, never the raw path (which could carry anything).
    assert samples(text, "povguard_http_requests_total", route="unmatched", status="404")
    assert "522301198005170011" not in text
    # The registry's scrape-time gauge: the head of its change feed.
    assert samples(text, "povguard_registry_feed_head_seq")
    assert "povguard_http_requests_in_progress" in text


async def test_the_pool_gauge_follows_checkouts(engine) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    watched = create_async_engine(engine.url, pool_size=2)
    metrics.watch_pool(watched, "pooltest")
    gauge = metrics.DB_POOL_IN_USE.labels("pooltest")
    try:
        async with watched.connect():
            assert gauge._value.get() == 1
            async with watched.connect():
                assert gauge._value.get() == 2
        assert gauge._value.get() == 0
        assert metrics.DB_POOL_SIZE.labels("pooltest")._value.get() == 2
    finally:
        await watched.dispose()


COUNT_ONE = """
from shared import metrics
metrics.HTTP_REQUESTS.labels("funds", "GET", "/v1/funds/{fund_id}", "200").inc()
metrics.JOBS_STARTED.labels("compliance_scan").inc()
metrics.HTTP_IN_PROGRESS.labels("funds").inc()  # still "in flight" when the process ends
"""


def test_processes_behind_one_port_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", COUNT_ONE], env=env, cwd=ROOT, check=True)
    rendered = subprocess.run(
        [sys.executable, "-c", "from shared import metrics; print(metrics.render().decode())"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    route = {"service": "funds", "route": "/v1/funds/{fund_id}", "status": "200"}
    assert samples(rendered, "povguard_http_requests_total", **route) == [2.0]
    assert samples(rendered, "povguard_jobs_started_total", job="compliance_scan") == [2.0]
    # A process that is gone counts for nothing in the live gauges.
    assert samples(rendered, "povguard_http_requests_in_progress", service="funds") in ([], [0.0])


async def test_statements_are_traced_when_tracing_is_on(engine, spans) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared import tracing

    traced = create_async_engine(engine.url, pool_size=1)
    tracing.instrument_engine(traced, "funds")
    try:
        async with traced.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await traced.dispose()
    statements = [s for s in spans.get_finished_spans() if s.name.startswith("SELECT")]
    assert statements
    assert statements[0].resource.attributes["service.name"] == "povguard-funds"
