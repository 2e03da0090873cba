"""HTTP for the DCI Social Registry API (spdci/standards v1.0.0), outside ``/v1``: the paths
are the standard's, under ``/dci``. Every answer is the standard's (a signed envelope, or an
acknowledgement ``ACK`` / ``ERR`` with the standard's error code), not problem+json: DCI
clients read ``message.error.code``. The error's message is Chinese unless
``Accept-Language`` prefers English."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from services.registry.auth.throttle import SignInAttempt
from services.registry.clients import service as client_service
from services.registry.dci import envelope, signing, subscriptions
from services.registry.dci import service as dci_service
from services.registry.dci.envelope import Caller
from services.registry.dci.errors import DciError
from shared.app import locale_of
from shared.auth import Principal, Scope, current_principal, issue_token, oauth2_scheme
from shared.db import SessionDep
from shared.errors import AppError, BadRequest, TooManyRequests, Unauthorized, problem_responses
from shared.ratelimit import client_address

router = APIRouter(tags=["dci"])
Token = Annotated[str | None, Depends(oauth2_scheme)]

_ENVELOPE = {
    "type": "object",
    "required": ["signature", "header", "message"],
    "properties": {
        "signature": {"type": "string", "description": "See docs/partners.md: Ed25519."},
        "header": {"type": "object"},
        "message": {"type": "object"},
    },
}
_DOC = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _ENVELOPE}}},
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    code: {"description": what, "content": {"application/json": {"schema": _ENVELOPE}}}
    for code, what in (
        (400, "ERR: err.request.bad, err.sender_uri.invalid, err.version.not_supported"),
        (401, "ERR: err.request.unauthorized, err.signature.missing, err.signature.invalid"),
        (403, "ERR: err.request.forbidden (not a registered client, or lacks the scope)"),
        (429, "ERR: err.request.too_many_requests (with Retry-After)"),
    )
}


async def _principal(request: Request, token: str | None) -> Principal:
    try:
        return await current_principal(request, token)
    except AppError as exc:  # a bad token, or (403) a client token without the scope
        code = "err.request.forbidden" if exc.status == 403 else "err.request.unauthorized"
        raise DciError(code, exc.detail) from None


async def _handle(
    request: Request,
    session: Any,
    token: str | None,
    action: str,
    scope: Scope,
    work: Callable[[Caller], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """Verify the request, then ``work`` answers it; a refusal is the standard's ``ERR``."""
    settings = request.app.state.settings
    try:
        principal = await _principal(request, token)
        caller = await envelope.verify(
            session, request.app.state.arq, settings, principal, await request.body(), action, scope
        )
        return JSONResponse(await work(caller))
    except DciError as exc:
        body = envelope.ack(settings, action, "", "", exc, locale_of(request))
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
        return JSONResponse(body, status_code=exc.status, headers=headers)


def _route(path: str, summary: str, answer: str) -> Callable[[Any], Any]:
    return router.post(
        path,
        summary=summary,
        description=answer + " Signed by the registry (its keys: `/.well-known/jwks.json`).",
        openapi_extra=_DOC,
        responses={200: {"description": answer}, **_ANSWERS},
    )


@_route(
    "/dci/registry/sync/search",
    "DCI search, answered at once (scope registry.search)",
    "`{signature, header (on-search), message: SearchResponse}`",
)
async def dci_sync_search(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        message, _ = await dci_service.search(session, caller, settings, locale_of(request))
        n = len(message["search_response"])
        header = envelope.callback_header(settings, "on-search", caller.client_id, n, n)
        return envelope.signed(settings, header, message)

    return await _handle(request, session, token, "search", Scope.dci_search, work)


@_route(
    "/dci/registry/search",
    "DCI search, the answer POSTed to the sender's on-search (scope registry.search)",
    "`ACK` with the `correlation_id`; the `SearchResponse` goes to the header's `sender_uri`.",
)
async def dci_search(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        url = envelope.check_sender_uri(caller, settings)
        message, txn = await dci_service.search(session, caller, settings, locale_of(request))
        n = len(message["search_response"])
        dci_service.deliver_later(session, settings, caller, "on-search", message, n, n, url)
        return envelope.ack(settings, "search", caller.client_id, str(txn.id))

    return await _handle(request, session, token, "search", Scope.dci_search, work)


@_route(
    "/dci/registry/subscribe",
    "Subscribe to household events (scope registry.subscribe)",
    "`ACK`; the `SubscribeResponse` with the subscription codes goes to `on-subscribe`, then "
    "`notify` messages to the same `sender_uri`.",
)
async def dci_subscribe(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        url = envelope.check_sender_uri(caller, settings)
        message = await subscriptions.subscribe(session, caller, settings, url, locale_of(request))
        n = len(message["subscribe_response"])
        dci_service.deliver_later(session, settings, caller, "on-subscribe", message, n, n, url)
        return envelope.ack(settings, "subscribe", caller.client_id, message["correlation_id"])

    return await _handle(request, session, token, "subscribe", Scope.dci_subscribe, work)


@_route(
    "/dci/registry/unsubscribe",
    "End subscriptions by code (scope registry.subscribe)",
    "`ACK`; the `UnSubscribeResponse` goes to `on-unsubscribe`.",
)
async def dci_unsubscribe(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        url = envelope.check_sender_uri(caller, settings)
        message = await subscriptions.unsubscribe(session, caller, locale_of(request))
        dci_service.deliver_later(session, settings, caller, "on-unsubscribe", message, 1, 1, url)
        return envelope.ack(settings, "unsubscribe", caller.client_id, message["correlation_id"])

    return await _handle(request, session, token, "unsubscribe", Scope.dci_subscribe, work)


@_route(
    "/dci/registry/sync/txn/status",
    "A transaction's status, answered at once (scope registry.search)",
    "`{signature, header (txn-on-status), message: TxnStatusResponse}`; 404 ERR when unknown.",
)
async def dci_sync_txn_status(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        message = await dci_service.txn_status(session, caller, settings)
        header = envelope.callback_header(settings, "txn-on-status", caller.client_id, 1, 1)
        return envelope.signed(settings, header, message)

    return await _handle(request, session, token, "txn-status", Scope.dci_search, work)


@_route(
    "/dci/registry/txn/status",
    "A transaction's status, POSTed to the sender's txn/on-status (scope registry.search)",
    "`ACK`; the `TxnStatusResponse` goes to `sender_uri`; 404 ERR when unknown.",
)
async def dci_txn_status(request: Request, session: SessionDep, token: Token) -> JSONResponse:
    settings = request.app.state.settings

    async def work(caller: Caller) -> dict[str, Any]:
        url = envelope.check_sender_uri(caller, settings)
        message = await dci_service.txn_status(session, caller, settings)
        dci_service.deliver_later(session, settings, caller, "txn-on-status", message, 1, 1, url)
        return envelope.ack(settings, "txn-status", caller.client_id, message["correlation_id"])

    return await _handle(request, session, token, "txn-status", Scope.dci_search, work)


@router.get(
    "/.well-known/jwks.json",
    summary="The registry's public signing keys (JWK Set, RFC 7517)",
    description="Ed25519 keys (`kty` OKP) whose `kid` (RFC 7638 thumbprint) DCI signatures "
    "name in `kidId`. Public, no token.",
)
async def jwks(request: Request) -> JSONResponse:
    key = signing.registry_key(request.app.state.settings)
    return JSONResponse({"keys": [key.jwk()]}, headers={"Cache-Control": "public, max-age=300"})


@router.post(
    "/dci/oauth2/client/token",
    summary="DCI token endpoint (authz_core_api): client credentials as form fields",
    description="`grant_type=client_credentials`, `client_id`, `client_secret`, optional "
    "`scope` (e.g. `registry.search registry.subscribe`). The same tokens as "
    "`POST /v1/auth/token`; `expires_in` is a string, as the standard's schema says.",
    responses=problem_responses(BadRequest, Unauthorized, TooManyRequests),
)
async def dci_token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str, Form(max_length=50)],
    client_id: Annotated[str, Form(max_length=200)],
    client_secret: Annotated[str, Form(max_length=200)],
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> JSONResponse:
    settings = request.app.state.settings
    if grant_type != "client_credentials":
        raise BadRequest(
            "grant_type must be client_credentials",
            code="auth.grant_type",
            error="unsupported_grant_type",
        )
    address = client_address(request, settings.trusted_proxies)
    attempt = SignInAttempt(request.app.state.arq, settings, f"client:{client_id}", address)
    await attempt.begin()
    client = await client_service.authenticate(session, client_id, client_secret)
    await attempt.succeeded()
    principal = client_service.principal_of(client, scope)
    body = {
        "access_token": issue_token(settings, principal),
        "token_type": "bearer",
        "expires_in": str(settings.token_minutes * 60),
        "scope": " ".join(sorted(principal.scopes or ())),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
