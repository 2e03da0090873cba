"""One request id, and one trace, follow a request from monitoring into the registry call it
makes and into the jobs it enqueues."""

from collections.abc import Callable
from datetime import date

import httpx
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from shared import idnumber, request_context, tracing
from shared.auth import Role
from tests.conftest import PUAN, PUAN_VILLAGE, VILLAGE_A, XINGYI, token_for, wire_app


def _declaration(phone: str) -> dict[str, str]:
    return {
        "name": "张三",
        "id_number": idnumber.make("522301", date(1975, 3, 3), 41),
        "phone": phone,
        "village_code": VILLAGE_A,
        "reason": "illness",
        "description": "家人重病住院",
    }


def _declarant(app, address: str) -> httpx.AsyncClient:
    """An anonymous client at its own address: declarations are rate-limited per address
    and phone, and other tests declare too."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _accept_declaration(
    client: httpx.AsyncClient,
    officer_token: str,
    before: Callable[[], None] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Accepting a declaration from someone the registry does not know asks the registry
    whether the village they named exists: monitoring's call to the registry."""
    listed = await client.get(
        "/v1/declarations", headers={"Authorization": f"Bearer {officer_token}"}
    )
    (declaration,) = listed.json()["items"]
    if before is not None:
        before()
    return await client.post(
        f"/v1/declarations/{declaration['id']}/actions",
        json={"action": "accept", "note": "核实受理"},
        headers={"Authorization": f"Bearer {officer_token}", **(headers or {})},
    )


async def test_the_request_id_reaches_the_registry_call(monitoring, villages, json_log) -> None:
    async with _declarant(monitoring.app, "198.51.100.71") as anonymous:
        declared = await anonymous.post("/v1/declarations", json=_declaration("13900007101"))
        assert declared.status_code == 201, declared.text
        token = token_for(monitoring.settings, Role.county_officer, XINGYI, sub="officer-7")
        response = await _accept_declaration(
            anonymous, token, headers={"X-Request-ID": "rq-across"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == "rq-across"
    (registry_call,) = json_log.access("/v1/regions/{code}")
    assert registry_call["request_id"] == "rq-across"
    assert registry_call["service"] == "registry"
    assert registry_call["user"] == "povguard-service"
    (own,) = json_log.access("/v1/declarations/{declaration_id}/actions")
    assert (own["service"], own["request_id"], own["user"]) == (
        "monitoring",
        "rq-across",
        "officer-7",
    )


async def test_jobs_a_request_enqueues_carry_its_id(monitoring, queue, settings, feed) -> None:
    await feed.household(PUAN_VILLAGE)
    await queue.delete(settings.queue_name)
    admin = monitoring.as_(Role.province_admin, "520000000000")
    response = await admin.post(
        "/v1/scans",
        json={"region_code": PUAN, "year": 2021},
        headers={"X-Request-ID": "rq-scan"},
    )
    assert response.status_code == 202, response.text
    queued = [j for j in await queue.queued_jobs() if j.function == "scan_county"]
    assert queued
    assert all(j.kwargs[request_context.JOB_CONTEXT_KWARG] == "rq-scan" for j in queued)
    await queue.delete(settings.queue_name)


async def test_one_trace_spans_monitoring_and_its_registry_call(
    settings, session_maker, queue, villages, spans
) -> None:
    from services.monitoring.app import create_app as create_monitoring
    from services.registry.app import create_app as create_registry

    registry_app = wire_app(create_registry(settings), session_maker, queue)
    transport = httpx.ASGITransport(app=registry_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
        tracing.instrument_http(http, "monitoring")  # what the lifespan does to app.state.http
        monitoring_app = wire_app(create_monitoring(settings), session_maker, queue, http=http)
        monitoring_app.state.registry_base_url = "http://registry"
        async with _declarant(monitoring_app, "198.51.100.72") as client:
            declared = await client.post("/v1/declarations", json=_declaration("13900007102"))
            assert declared.status_code == 201, declared.text
            token = token_for(settings, Role.county_officer, XINGYI)
            response = await _accept_declaration(client, token, before=spans.clear)
    assert response.status_code == 200, response.text

    finished = spans.get_finished_spans()
    by_route = {
        (s.resource.attributes["service.name"], s.attributes.get("http.route")): s
        for s in finished
        if s.kind in (SpanKind.SERVER, SpanKind.INTERNAL) and s.attributes.get("http.route")
    }
    incoming = by_route[("povguard-monitoring", "/v1/declarations/{declaration_id}/actions")]
    # In process the registry's span is INTERNAL (there is a current span); over the
    # network it is a SERVER span. Either way it is the child of monitoring's call.
    registry_side = by_route[("povguard-registry", "/v1/regions/{code}")]
    (call,) = [
        s
        for s in finished
        if s.kind == SpanKind.CLIENT
        and s.resource.attributes["service.name"] == "povguard-monitoring"
    ]
    assert incoming.kind == SpanKind.SERVER
    assert call.resource.attributes["service.name"] == "povguard-monitoring"
    assert call.attributes.get("http.request.method", call.attributes.get("http.method")) == "GET"
    assert len({s.context.trace_id for s in finished}) == 1
    assert call.parent.span_id == incoming.context.span_id
    assert registry_side.parent.span_id == call.context.span_id
    # The ASGI send/receive spans are left out: a span per request, not per message.
    assert not [s for s in finished if s.name.endswith(("http send", "http receive"))]


def test_tracing_is_off_and_installs_nothing_without_the_endpoint(monkeypatch, settings) -> None:
    from services.registry.app import create_app

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert not tracing.enabled()
    assert tracing.provider_for("registry") is None
    app = create_app(settings)
    assert not hasattr(app, "_original_build_middleware_stack")  # no OTel middleware
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.enabled()


async def test_monitoring_metrics_show_alerts_overdue_cases_and_the_feed(
    monitoring, feed, session
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from services.monitoring.projection.repository import ProjectionRepository
    from shared.pagination import encode_cursor

    xingyi = await feed.household(VILLAGE_A)
    puan = await feed.household(PUAN_VILLAGE)
    for household, rule in ((xingyi, "income_drop"), (xingyi, "medical"), (puan, "medical")):
        await session.execute(
            text(
                "INSERT INTO monitoring.alerts (household_id, region_code, rule, figures, "
                "policy_id, policy_year) VALUES (:h, :r, :rule, '{}', gen_random_uuid(), 2025)"
            ),
            {"h": household["id"], "r": household["region_code"], "rule": rule},
        )
    opened = await monitoring.as_(Role.village_cadre, VILLAGE_A).post(
        "/v1/cases", json={"household_id": str(xingyi["id"]), "channel": "cadre"}
    )
    assert opened.status_code == 201, opened.text
    await session.execute(text("UPDATE monitoring.cases SET overdue = true"))
    await ProjectionRepository(session).save_cursor("registry", encode_cursor([900, 4242]), 17)
    await session.commit()

    response = await monitoring.get("/metrics")
    assert response.status_code == 200
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert values[("povguard_monitoring_open_alerts", (("county", XINGYI),))] == 2
    assert values[("povguard_monitoring_open_alerts", (("county", PUAN),))] == 1
    assert values[("povguard_monitoring_overdue_cases", (("county", XINGYI),))] == 1
    assert values[("povguard_projection_feed_seq", ())] == 4242
    assert values[("povguard_projection_events_applied", ())] == 17
    assert 0 <= values[("povguard_projection_seconds_since_applied", ())] < 60
