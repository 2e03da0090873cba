"""The monitoring service (port 8002)."""

from fastapi import FastAPI

from services.monitoring import metrics as monitoring_metrics
from services.monitoring.alerts.router import router as alerts_router
from services.monitoring.batches.router import router as batches_router
from services.monitoring.cases.router import router as cases_router
from services.monitoring.database import FEED
from services.monitoring.declarations.page import router as declaration_page_router
from services.monitoring.declarations.router import router as declarations_router
from services.monitoring.policy.router import router as policy_router
from services.monitoring.scopes import SCOPES
from services.monitoring.scores.router import router as scores_router
from services.monitoring.signals.router import router as signals_router
from services.monitoring.stats.router import router as stats_router
from services.monitoring.webhooks import HUB as WEBHOOKS
from shared import observability
from shared.app import create_service_app
from shared.changelog.chain import audit_router as chain_router
from shared.changelog.feed import feed_router
from shared.settings import Settings
from shared.webhooks import metrics as webhook_metrics
from shared.webhooks.router import webhook_router

TAGS: list[dict[str, str]] = [
    {
        "name": "policy",
        "description": "Monitoring line and rule figures per region and year (监测标准).",
    },
    {"name": "scans and alerts", "description": "Risk scans and the alerts they raise (预警)."},
    {"name": "signals", "description": "Department screening data (部门预警信息)."},
    {"name": "declarations", "description": "Self-declaration by QR code (防贫申报), no login."},
    {"name": "cases", "description": "The monitored-household procedure (识别、帮扶、风险消除)."},
    {"name": "stats", "description": "Overview figures per region."},
    {"name": "batches", "description": "Offline batches of case steps, answered per item."},
    {"name": "audit", "description": "The change log's hash chain, verified (审计核验)."},
    {
        "name": "webhooks",
        "description": "Signed webhooks (Standard Webhooks) for alerts and cases.",
    },
]


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        scopes=SCOPES,
        name="monitoring",
        title="Povguard monitoring",
        description="Early warning (防止返贫动态监测): policy, department signals, self-declarations, scans, alerts and the monitored-household case procedure.",
        routers=[
            policy_router,
            scores_router,
            alerts_router,
            signals_router,
            declarations_router,
            cases_router,
            batches_router,
            stats_router,
            feed_router(FEED, "monitoring"),
            webhook_router(WEBHOOKS),
            chain_router("monitoring"),
        ],
        tags=TAGS,
        settings=settings,
    )
    observability.add_collector(app, monitoring_metrics.collect)
    observability.add_collector(app, webhook_metrics.collector(WEBHOOKS))
    # The villagers' page (HTML, outside the /v1 API): /declare/{village_code}.
    app.include_router(declaration_page_router)
    return app
