from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from services.registry.imports import export
from services.registry.imports import messages as import_messages
from services.registry.imports import service as import_service
from services.registry.imports.schemas import (
    ImportAccepted,
    ImportDryRun,
    ImportRead,
    ImportRejectionRead,
    ImportSummary,
)
from services.registry.imports.template import ImportKind, describe, template_csv
from shared.app import locale_of
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page

router = APIRouter(tags=["bulk"])
_S = TypeVar("_S", bound=ImportSummary)


@router.post(
    "/imports",
    status_code=202,
    response_model=ImportAccepted,
    responses={
        200: {"model": ImportDryRun, "description": "`dry_run=true`: what an import would do"},
        **problem_responses(Forbidden, PayloadTooLarge, ValidationFailed),
    },
    summary="Upload a ledger file (CSV or XLSX); a worker loads it",
    description=(
        "Roles: county_officer, province_admin, township_officer; rows must lie in your region. "
        "CSV in UTF-8 (with or without BOM) or GBK, or XLSX (the sheet whose headers match; "
        "a workbook where none does is refused naming the sheets it has). The header row is "
        "looked for in the first 10 rows (a title row such as XX村脱贫户信息台账 and a unit "
        "or date row above it are skipped); row numbers are the sheet's own. `kind` may be "
        "left out: the headers say it (a 422 when they say neither or both). Answers 202 "
        "with `import_id` at once; follow `GET /v1/imports/{id}`. Valid households land "
        "whole, a household with any bad row is rejected whole with each bad row, column and "
        "reason (in the reader's language, with a stable `code`); loading the same file again "
        "changes nothing (its rows count as unchanged). With `dry_run=true` the file is "
        "checked at once and the answer (200) is what an import would accept and reject, row, "
        "column and reason; nothing is written. The upload limit is "
        "`POVGUARD_MAX_UPLOAD_BYTES` (64 MB by default).\n\n" + describe()
    ),
)
async def create_import(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="The ledger: .csv or .xlsx")],
    kind: Annotated[
        ImportKind | None,
        Form(description="households | economics; inferred from the headers when left out"),
    ] = None,
    dry_run: Annotated[
        bool,
        Query(
            description="Validate only: answer 200 with what an import would accept and "
            "reject, and write nothing"
        ),
    ] = False,
) -> JSONResponse:
    content = await file.read()
    if dry_run:
        result = await import_service.dry_run(
            session, principal, kind, file.filename or "upload", content
        )
        locale = locale_of(request)
        body = ImportDryRun(
            kind=result.kind.value,
            rows_read=result.outcome.rows,
            accepted=result.outcome.accepted,
            rejected=result.outcome.rejected,
            unchanged=result.outcome.unchanged,
            rejected_rows=[_rejection(r, locale) for r in result.rejected_rows],
            rejected_rows_truncated=result.truncated,
        )
        return JSONResponse(body.model_dump(mode="json"))
    job = await import_service.create_import(
        session, principal, kind, file.filename or "upload", content
    )
    return JSONResponse({"import_id": str(job.id)}, status_code=202)


@router.get(
    "/imports",
    response_model=Page[ImportSummary],
    responses=problem_responses(Forbidden, NotFound, ValidationFailed),
    summary="Imports in your region, newest first, with status and progress",
    description=(
        "So an official (and an operator) sees stuck or failed work: `status`, the counts so "
        "far, `chunks_done` of `chunks_total`, `attempts` and `heartbeat_at`. An import is "
        "never `queued` or `running` for more than a few minutes without a heartbeat: the "
        "worker's sweeper dispatches it again, or marks it failed with the reason in `error`. "
        "Roles: county_officer, province_admin, township_officer, auditor."
    ),
)
async def list_imports(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    prefix: ScopedRegionPrefix,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ImportSummary]:
    rows, next_cursor = await import_service.list_imports(session, principal, prefix, cursor, limit)
    locale = locale_of(request)
    return Page(
        items=[_summary(ImportSummary.model_validate(r), locale) for r in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/imports/template",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The header row"}},
    summary="The empty ledger template (CSV, UTF-8 with BOM)",
    description=describe(),
)
async def get_import_template(
    principal: CurrentPrincipal,
    kind: Annotated[ImportKind, Query(description="households | economics")] = (
        ImportKind.households
    ),
) -> Response:
    return Response(
        template_csv(kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind.value}-template.csv"'},
    )


@router.get(
    "/imports/{import_id}",
    response_model=ImportRead,
    responses=problem_responses(NotFound, Forbidden),
    summary="An import's progress and its rejected rows (the first 1000)",
)
async def get_import(
    request: Request, import_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ImportRead:
    """An import's status, rows read, accepted and rejected, and the rejected rows with their
    reasons (the first 1000). Who: county or township officer, province admin, auditor, inside
    their region. Answers 200 `ImportRead`."""
    job, rejected, truncated = await import_service.get_import(session, principal, import_id)
    locale = locale_of(request)
    read = _summary(ImportRead.model_validate(job), locale)
    read.rejected_rows = [_rejection(r, locale) for r in rejected]
    read.rejected_rows_truncated = truncated
    return read


def _rejection(row: Any, locale: str) -> ImportRejectionRead:
    return ImportRejectionRead(
        row_no=row.row_no,
        column=row.column,
        reason=import_messages.show(row.reason, locale) or "",
        code=import_messages.code_of(row.reason),
    )


def _summary(read: _S, locale: str) -> _S:
    """Reasons are stored as messages: shown in the reader's language."""
    read.error_code = import_messages.code_of(read.error)
    read.error = import_messages.show(read.error, locale)
    return read


@router.get(
    "/exports/households",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
            "description": "The ledger, one row per resident member",
        },
        **problem_responses(NotFound, Forbidden),
    },
    summary="Export households and members as a ledger file (streams)",
    description=(
        "The households import template's columns and wording, one row per resident member, "
        "so the file imports again as unchanged. Roles below county level see masked ID "
        "numbers and the birth year alone; departments may not export. Text that a "
        "spreadsheet would run as a formula (starting with =, +, -, @ or ＝ ＋ － ＠) is written with a "
        "leading apostrophe, which an import strips again. `region` defaults to yours."
    ),
)
async def export_households(
    request: Request,
    principal: CurrentPrincipal,
    prefix: ScopedRegionPrefix,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$", description="csv | xlsx")] = "csv",
) -> StreamingResponse:
    principal.ensure_role(*export.EXPORT_ROLES)
    session_maker = request.app.state.session_maker
    # 兴义市_户籍台账_2025-12-07.xlsx (RFC 6266, UTF-8 filename*)
    disposition = await export.content_disposition(session_maker, prefix, format)
    if format == "xlsx":
        return StreamingResponse(
            export.stream_xlsx(session_maker, principal, prefix),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": disposition},
        )
    return StreamingResponse(
        export.stream_csv(session_maker, principal, prefix),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )
