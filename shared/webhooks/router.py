"""``/v1/webhooks``, mounted by each service on its own ``Hub``."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from shared.auth import Principal, Scope, require_scope
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit
from shared.webhooks import service
from shared.webhooks.hub import Hub
from shared.webhooks.schemas import (
    DELIVERY_STATUS_TEXT,
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
)

Manager = Annotated[Principal, require_scope(Scope.webhooks_manage)]
ROLES_NOTE = (
    "Roles: department, province_admin; a client's token needs the `webhooks:manage` scope."
)


def webhook_router(hub: Hub) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])
    known = ", ".join(f"`{t}`" for t in sorted(hub.event_types))

    @router.post(
        "",
        status_code=201,
        response_model=WebhookCreated,
        responses=problem_responses(Forbidden, ValidationFailed),
        summary="Subscribe a URL to this service's events in your region",
        description=(
            "Each matching change is POSTed as `{type, timestamp, data}` (the data and masking "
            "you would get from the change feed) with the Standard Webhooks headers "
            "`webhook-id` (the same on every retry), `webhook-timestamp` and "
            "`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the "
            "secret answered here, once). Any non-2xx answer or no answer within a few "
            "seconds is retried with exponential backoff for at least 24 hours; a "
            "subscription failing for days is disabled (see `status`). The URL must be "
            "https, resolve to public addresses and accept a connection. "
            f"Event types: {known}, or `*`. {ROLES_NOTE}"
        ),
    )
    async def create_webhook(
        body: WebhookCreate,
        principal: Manager,
        session: SessionDep,
        request: Request,
        response: Response,
    ) -> WebhookCreated:
        created = await service.subscribe(session, hub, request.app.state.settings, principal, body)
        response.headers["Location"] = f"/v1/webhooks/{created.id}"
        return created

    @router.get(
        "",
        response_model=WebhookPage,
        responses=problem_responses(Forbidden, ValidationFailed),
        summary="Your subscriptions",
        description=ROLES_NOTE,
    )
    async def list_webhooks(
        principal: Manager, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
    ) -> WebhookPage:
        rows, next_cursor = await service.list_subscriptions(session, hub, principal, cursor, limit)
        return WebhookPage(items=[Webhook.model_validate(r) for r in rows], next_cursor=next_cursor)

    @router.get(
        "/{webhook_id}",
        response_model=Webhook,
        responses=problem_responses(Forbidden, NotFound),
        summary="One of your subscriptions, with its status",
        description=ROLES_NOTE,
    )
    async def get_webhook(webhook_id: UUID, principal: Manager, session: SessionDep) -> Webhook:
        row = await service.own_subscription(session, hub, principal, webhook_id)
        return Webhook.model_validate(row)

    @router.delete(
        "/{webhook_id}",
        status_code=204,
        responses=problem_responses(Forbidden, NotFound),
        summary="Unsubscribe (pending deliveries are dropped)",
        description=ROLES_NOTE,
    )
    async def delete_webhook(webhook_id: UUID, principal: Manager, session: SessionDep) -> Response:
        await service.unsubscribe(session, hub, principal, webhook_id)
        return Response(status_code=204)

    @router.get(
        "/{webhook_id}/deliveries",
        response_model=DeliveryPage,
        responses=problem_responses(Forbidden, NotFound, ValidationFailed),
        summary="The delivery log: attempts, last status code and latency, next attempt",
        description=f"Oldest first. {ROLES_NOTE}",
    )
    async def list_deliveries(
        webhook_id: UUID,
        principal: Manager,
        session: SessionDep,
        status: Annotated[DeliveryStatus | None, Query(description=DELIVERY_STATUS_TEXT)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> DeliveryPage:
        items, next_cursor = await service.list_deliveries(
            session, hub, principal, webhook_id, status, cursor, limit
        )
        return DeliveryPage(items=items, next_cursor=next_cursor)

    @router.post(
        "/{webhook_id}/deliveries/{delivery_id}/retry",
        status_code=202,
        response_model=Delivery,
        responses=problem_responses(Forbidden, NotFound, Conflict),
        summary="Deliver again now (same webhook-id), with a fresh retry window",
        description=(
            "Also on a disabled subscription: a delivery that succeeds re-activates it. "
            f"Changes made while it was disabled are replayed from the change feed. {ROLES_NOTE}"
        ),
    )
    async def retry_delivery(
        webhook_id: UUID,
        delivery_id: UUID,
        principal: Manager,
        session: SessionDep,
        request: Request,
    ) -> Delivery:
        return await service.redeliver(
            session, hub, request.app.state.settings, principal, webhook_id, delivery_id
        )

    return router
