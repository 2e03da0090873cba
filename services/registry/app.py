"""The registry service (port 8001)."""

from fastapi import FastAPI

from services.registry import metrics as registry_metrics
from services.registry.asof.router import router as asof_router
from services.registry.audit.router import router as audit_router
from services.registry.auth.router import router as auth_router
from services.registry.batches.router import router as batches_router
from services.registry.changes.router import router as changes_router
from services.registry.clients.router import router as clients_router
from services.registry.dci.router import router as dci_router
from services.registry.duplicates.router import router as duplicates_router
from services.registry.economics.router import router as economics_router
from services.registry.guarantees.router import router as guarantees_router
from services.registry.households.router import router as households_router
from services.registry.imports.router import router as imports_router
from services.registry.measures.router import router as measures_router
from services.registry.regions.router import router as regions_router
from services.registry.scopes import SCOPES
from services.registry.webhooks import HUB as WEBHOOKS
from shared import observability
from shared.app import create_service_app
from shared.changelog.chain import audit_router as chain_router
from shared.settings import Settings
from shared.webhooks import metrics as webhook_metrics
from shared.webhooks.router import webhook_router

TAGS = [
    {"name": "auth", "description": "Sign in, tokens, who am I, accounts."},
    {"name": "clients", "description": "Registered partner systems (OAuth2 client credentials)."},
    {"name": "regions", "description": "Administrative divisions (行政区划), 12-digit codes."},
    {"name": "households", "description": "Households and members (建档立卡户及家庭成员)."},
    {"name": "economics", "description": "Yearly income and rigid expenses (家庭收支)."},
    {
        "name": "guarantees",
        "description": "Two no-worries, three guarantees and water (两不愁三保障).",
    },
    {
        "name": "measures",
        "description": "Help measures and responsible cadres (帮扶措施, 结对帮扶).",
    },
    {"name": "bulk", "description": "Ledger import and export (台账导入导出)."},
    {"name": "sync", "description": "Change feed and partner sync."},
    {"name": "batches", "description": "Offline batches: a phone's queued changes, per item."},
    {"name": "audit", "description": "Who changed what."},
    {
        "name": "webhooks",
        "description": "Signed webhooks (Standard Webhooks) for registry changes.",
    },
    {
        "name": "dci",
        "description": "The DCI Social Registry API (spdci standard v1.0.0) under /dci: signed "
        "search, subscribe/notify and transaction status; keys at /.well-known/jwks.json.",
    },
]


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        scopes=SCOPES,
        name="registry",
        title="Povguard registry",
        description="The household register (建档立卡): the system of record that monitoring and "
        "funds read through this API, that village cadres fill in, and partner departments sync with.",
        routers=[
            auth_router,
            clients_router,
            regions_router,
            households_router,
            asof_router,
            economics_router,
            guarantees_router,
            measures_router,
            audit_router,
            changes_router,
            imports_router,
            batches_router,
            duplicates_router,
            webhook_router(WEBHOOKS),
            chain_router("registry"),
        ],
        tags=TAGS,
        settings=settings,
        upload_paths=["/imports"],
    )
    observability.add_collector(app, registry_metrics.collect)
    observability.add_collector(app, webhook_metrics.collector(WEBHOOKS))
    # The standard's own paths, outside /v1 (they are versioned by the standard).
    app.include_router(dci_router)
    return app
