from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.monitoring.declarations import service as declaration_service
from services.monitoring.declarations.schemas import (
    DeclarationCreate,
    DeclarationReceipt,
    DeclarationStatus,
)
from services.monitoring.deps import Registry
from shared.db import SessionDep
from shared.errors import (
    BadRequest,
    NotFound,
    TooManyRequests,
    ValidationFailed,
    problem_responses,
)

router = APIRouter(tags=["declarations"])


@router.post(
    "/declarations",
    status_code=201,
    response_model=DeclarationReceipt,
    responses=problem_responses(BadRequest, TooManyRequests, ValidationFailed),
    summary="Declare a difficulty (防贫申报; no login, rate-limited per phone and address)",
    description=(
        "Opens a case at `discovered`, or joins the household's open case. A declarant the "
        "registry does not know must name a village the registry knows (else 422)."
    ),
)
async def declare(
    body: DeclarationCreate, request: Request, session: SessionDep, registry: Registry
) -> DeclarationReceipt:
    address = request.client.host if request.client else "unknown"
    await declaration_service.check_rate(
        request.app.state.arq, request.app.state.settings.queue_name, body.phone, address
    )
    declaration = await declaration_service.declare(session, registry, body)
    return DeclarationReceipt(tracking_code=declaration.tracking_code)


@router.get(
    "/declarations/{tracking_code}",
    response_model=DeclarationStatus,
    responses=problem_responses(NotFound),
    summary="The stage a declaration has reached (nothing else)",
)
async def declaration_status(
    tracking_code: Annotated[str, Path(max_length=20)], session: SessionDep
) -> DeclarationStatus:
    stage = await declaration_service.status(session, tracking_code)
    return DeclarationStatus(tracking_code=tracking_code.upper(), stage=stage)
