"""The funds service (port 8003)."""

from fastapi import FastAPI

from services.funds.assets.router import router as assets_router
from services.funds.compliance.router import router as compliance_router
from services.funds.database import FEED
from services.funds.funding.router import router as funding_router
from services.funds.notices.router import router as notices_router
from services.funds.payments.router import router as payments_router
from services.funds.policy.router import router as policy_router
from services.funds.projects.router import router as projects_router
from services.funds.reports.router import router as reports_router
from services.funds.scopes import SCOPES
from services.funds.webhooks import HUB as WEBHOOKS
from shared import observability
from shared.app import create_service_app
from shared.changelog.chain import audit_router as chain_router
from shared.changelog.feed import feed_router
from shared.settings import Settings
from shared.webhooks import metrics as webhook_metrics
from shared.webhooks.router import webhook_router

TAGS = [
    {"name": "funds", "description": "Funds and their allocation chain (衔接资金)."},
    {"name": "projects", "description": "The project library (项目库) and its lifecycle."},
    {"name": "notices", "description": "Public notices (公告公示)."},
    {"name": "payments", "description": "Append-only payments; corrections are reversals."},
    {"name": "assets", "description": "Assets formed by projects (扶贫项目资产)."},
    {"name": "reports", "description": "Fund reports, traces and the asset ledger."},
    {"name": "compliance", "description": "Compliance findings (idle funds, stalled projects)."},
    {"name": "policy", "description": "The funds rules' figures per region and year."},
    {"name": "audit", "description": "The change log's hash chain, verified (审计核验)."},
    {
        "name": "webhooks",
        "description": "Signed webhooks (Standard Webhooks) for projects and payments.",
    },
]


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        scopes=SCOPES,
        name="funds",
        title="Povguard funds",
        description="Linking funds (衔接资金) from source to payment, the project library (项目库), and the assets projects formed (扶贫项目资产).",
        routers=[
            funding_router,
            projects_router,
            payments_router,
            notices_router,
            assets_router,
            reports_router,
            compliance_router,
            policy_router,
            feed_router(FEED, "funds"),
            webhook_router(WEBHOOKS),
            chain_router("funds"),
        ],
        tags=TAGS,
        settings=settings,
    )
    observability.add_collector(app, webhook_metrics.collector(WEBHOOKS))
    return app
