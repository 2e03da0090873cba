"""The villagers' declaration page (防贫申报, reached by the village's QR code): a plain HTML
form that works without JavaScript, posted to itself, answered by a page.

It goes through the declarations service as the API does (``submit``: the same limits, the
same record, the same answer for anyone), so it tells nobody who is registered."""

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.monitoring.declarations import service as declaration_service
from services.monitoring.declarations import webform
from services.monitoring.declarations.schemas import DeclarationCreate
from services.monitoring.deps import Registry
from shared import regions
from shared.db import SessionDep
from shared.errors import AppError, NotFound
from shared.i18n import ZH, render
from shared.ratelimit import client_address
from shared.registry_client import RegistryUnavailable
from shared.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
VillageCode = Annotated[str, Path(pattern=r"^[0-9]{12}$")]


def _https_site(settings: Settings) -> bool:
    return settings.declaration_page("").startswith("https://")


def _html(request: Request, body: str, status: int = 200, nonce: str | None = None) -> Response:
    settings = request.app.state.settings
    response = HTMLResponse(body, status_code=status)
    response.headers.update(webform.SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = "zh-CN"
    if nonce is not None:
        response.set_cookie(
            webform.CSRF_COOKIE,
            nonce,
            max_age=webform.CSRF_MAX_AGE_S,
            path=webform.cookie_path(settings),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https" or _https_site(settings),
        )
    return response


def _problem(request: Request, exc: AppError, title: str = "请稍后再试") -> Response:
    """An error as a page: the API's message in Chinese, with its status and Retry-After."""
    response = _html(
        request, webform.page("problem", title=title, notice=render(exc.detail, ZH)), exc.status
    )
    retry = exc.extra.get("retry_after_s")
    if retry is not None:
        response.headers["Retry-After"] = str(max(int(retry), 1))
    return response


async def _village(request: Request, registry: Registry, code: str) -> str | None:
    """The name to show; the code itself while the registry cannot answer (a villager is not
    turned away because a server is down); None for a village the registry does not know."""
    if not regions.is_valid_code(code) or regions.level_of(code) != regions.RegionLevel.village:
        return None  # a township's or county's code: no page of its own
    try:
        return await webform.village_name(registry, code)
    except RegistryUnavailable:
        log.warning("registry unreachable; declaration page for %s shown without its name", code)
        return f"村代码 {code}"


def _address(request: Request) -> str:
    return client_address(request, request.app.state.settings.trusted_proxies)


def _form(
    request: Request,
    code: str,
    name: str,
    status: int = 200,
    **context: object,
) -> Response:
    """The form with a fresh token, for this browser's anti-forgery cookie (a new one if it
    has none yet)."""
    settings = request.app.state.settings
    nonce = request.cookies.get(webform.CSRF_COOKIE)
    fresh = nonce is None or len(nonce) > 64
    if fresh:
        nonce = webform.new_nonce()
    assert nonce is not None
    body = webform.page(
        "form",
        village_code=code,
        village_name=name,
        csrf=webform.csrf_token(settings, nonce, code),
        **context,
    )
    return _html(request, body, status, nonce if fresh else None)


def _missing(request: Request) -> Response:
    return _html(
        request, webform.page("problem", title="找不到这个村", notice=webform.NO_VILLAGE), 404
    )


@router.get("/declare/status")
async def declaration_status_page(request: Request) -> Response:
    return _html(request, webform.page("status"))


@router.post("/declare/status")
async def declaration_status_lookup(request: Request, session: SessionDep) -> Response:
    """The code goes in the body, not the address: it is the declarant's only key."""
    form = await request.form(max_files=0, max_fields=10)
    # As copied down: in groups, with spaces, in lower case.
    code = "".join(str(form.get("code") or "").split()).upper()[:20]
    if not code:
        return _html(request, webform.page("status", errors={"code": "必填"}), 422)
    state = request.app.state
    try:
        await declaration_service.check_lookup_rate(state.arq, state.settings, _address(request))
        stage = await declaration_service.status(session, code)
    except NotFound as exc:
        body = webform.page(
            "status", values={"code": code}, errors={"code": render(exc.detail, ZH)}
        )
        return _html(request, body, 404)
    except AppError as exc:
        return _problem(request, exc)
    text, note = webform.STAGES[stage.value]
    body = webform.page(
        "status", tracking_code=code, stage=text, stage_note=note, values={"code": code}
    )
    return _html(request, body)


@router.get("/declare/{village_code}")
async def declaration_page(
    village_code: VillageCode, request: Request, registry: Registry
) -> Response:
    state = request.app.state
    try:
        # Counted as a lookup (as GET /v1/declarations/{code}): the page costs a registry call.
        await declaration_service.check_lookup_rate(state.arq, state.settings, _address(request))
    except AppError as exc:
        return _problem(request, exc)
    name = await _village(request, registry, village_code)
    if name is None:
        return _missing(request)
    return _form(request, village_code, name)


@router.post("/declare/{village_code}")
async def declaration_submit(
    village_code: VillageCode, request: Request, session: SessionDep, registry: Registry
) -> Response:
    name = await _village(request, registry, village_code)
    if name is None:
        return _missing(request)
    form = await request.form(max_files=0, max_fields=20)
    values = {f: str(form.get(f) or "").strip() for f in webform.FIELDS}
    settings = request.app.state.settings
    forged = request.headers.get("sec-fetch-site") == "cross-site"
    token = str(form.get("csrf") or "")
    nonce = request.cookies.get(webform.CSRF_COOKIE)
    if forged or not webform.csrf_valid(settings, nonce, village_code, token):
        return _form(request, village_code, name, 403, values=values, notice=webform.EXPIRED)
    try:
        # An empty field is a missing one ("必填"), as the API says of a field left out.
        body = DeclarationCreate.model_validate(
            {"village_code": village_code} | {k: v for k, v in values.items() if v}
        )
    except ValidationError as exc:
        errors = webform.field_errors(exc)
        return _form(
            request,
            village_code,
            name,
            422,
            values=values,
            errors=errors,
            notice=webform.FIX_FIELDS,
        )
    state = request.app.state
    try:
        declaration = await declaration_service.submit(
            session, state.arq, settings, body, _address(request)
        )
    except AppError as exc:
        return _problem(request, exc)
    page = webform.page(
        "done",
        village_name=name,
        tracking_code=declaration.tracking_code,
        status_url=settings.declaration_page("status"),
    )
    return _html(request, page)
