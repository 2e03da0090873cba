from typing import Annotated, Any, TypeVar
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from services.registry.imports import export, report
from services.registry.imports import messages as import_messages
from services.registry.imports import service as import_service
from services.registry.imports.rules import excel_column
from services.registry.imports.schemas import (
    ImportAccepted,
    ImportDryRun,
    ImportNotice,
    ImportRead,
    ImportRejectionRead,
    ImportSkippedRow,
    ImportSummary,
)
from services.registry.imports.template import ImportKind, describe, template_csv
from services.registry.imports.template_book import template_xlsx
from shared.app import locale_of
from shared.auth import CurrentPrincipal, Principal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed, problem_responses
from shared.i18n import render, t
from shared.pagination import Cursor, Limit, Page
from shared.replica.web import ReplicaSessionDep

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
        "Roles: county_officer, province_admin, township_officer, village_cadre (a village "
        "cadre imports the village's own ledger); a row outside your region is rejected "
        "(`region.outside_scope`). "
        "CSV in UTF-8 (with or without BOM) or GBK, or XLSX (the sheet whose headers match; "
        "a workbook where none does is refused naming the sheets it has). The header row is "
        "looked for in the first 10 rows (a title row such as XX村脱贫户信息台账 and a unit "
        "or date row above it are skipped; a two-level header is read as one); row numbers "
        "are the sheet's own. Columns are found under their usual names too (身份证号, 户号, "
        "出生年月日 ...); only the required columns must be there. Rows that are not data "
        "(合计/小计/总计, 填表人/审核人 footers, a header printed again, blank and title rows) "
        "are counted as `skipped`; a household's cells merged down over its members (or left "
        "empty below the head's row) belong to each member. `kind` (query or form field) "
        "may be left out: the headers say it (a 422 when they say neither or both). A "
        "workbook is measured before it is read (cells of all sheets, shared strings, "
        "unpacked size): one over the bounds is a 422 with its code. Answers 202 "
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
    kind_query: Annotated[
        ImportKind | None,
        Query(alias="kind", description="The same as the form field `kind`"),
    ] = None,
    dry_run: Annotated[
        bool,
        Query(
            description="Validate only: answer 200 with what an import would accept and "
            "reject, and write nothing"
        ),
    ] = False,
) -> JSONResponse:
    if kind is not None and kind_query is not None and kind != kind_query:
        raise ValidationFailed.field(
            "kind", t("kind differs between the query and the form", "import.kind_conflict")
        )
    kind = kind or kind_query
    content = await file.read()
    filename = file.filename or "upload"
    if dry_run:
        result = await import_service.dry_run(session, principal, kind, filename, content)
        locale = locale_of(request)
        body = ImportDryRun(
            kind=result.kind.value,
            rows_read=result.outcome.rows,
            accepted=result.outcome.accepted,
            rejected=result.outcome.rejected,
            unchanged=result.outcome.unchanged,
            skipped=result.skipped,
            notices=_notices(result.excel_rows, locale),
            rejected_rows=[_rejection(r, locale, principal) for r in result.rejected_rows],
            rejected_rows_truncated=result.truncated,
            skipped_rows=_skipped(result.skipped_rows, locale),
        )
        return JSONResponse(body.model_dump(mode="json"))
    job = await import_service.create_import(session, principal, kind, filename, content)
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
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ImportSummary]:
    rows, next_cursor = await import_service.list_imports(session, principal, prefix, cursor, limit)
    locale = locale_of(request)
    return Page(
        items=[_summary(ImportSummary.model_validate(r), locale, principal) for r in rows],
        next_cursor=next_cursor,
    )


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/imports/template",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, _XLSX: {}}, "description": "The empty template"},
    },
    summary="The empty ledger template (CSV, UTF-8 with BOM; or XLSX made to prevent damage)",
    description=(
        "`format=xlsx`: the 证件号码 column formatted as text (so Excel keeps all 18 digits), "
        "a drop-down list on every column with fixed values, a frozen header, and a sheet of "
        "instructions (填写说明).\n\n" + describe()
    ),
)
async def get_import_template(
    principal: CurrentPrincipal,
    kind: Annotated[ImportKind, Query(description="households | economics")] = (
        ImportKind.households
    ),
    format: Annotated[str, Query(pattern="^(csv|xlsx)$", description="csv | xlsx")] = "csv",
) -> Response:
    if format == "xlsx":
        return Response(
            template_xlsx(kind),
            media_type=_XLSX,
            headers={"Content-Disposition": _attachment(f"{kind.value}-template.xlsx")},
        )
    return Response(
        template_csv(kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind.value}-template.csv"'},
    )


def _attachment(name: str) -> str:
    """RFC 6266, with the UTF-8 name for names that are not ASCII."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@router.get(
    "/imports/{import_id}",
    response_model=ImportRead,
    responses=problem_responses(NotFound, Forbidden),
    summary="An import's progress, rows skipped and its rejected rows (the first 1000)",
)
async def get_import(
    request: Request, import_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ImportRead:
    """An import's status, rows read, accepted, rejected and skipped, what to do about the
    whole file (`notices`), the rows skipped and why, and the rejected rows with their
    reasons (the first 1000: page through all with `GET /v1/imports/{id}/rejections`).
    Reasons and the file name are masked for the reader. Who: county or township officer,
    village cadre, province admin, auditor, inside their region. Answers 200 `ImportRead`."""
    view = await import_service.get_import(session, principal, import_id)
    locale = locale_of(request)
    read = _summary(ImportRead.model_validate(view.job), locale, principal)
    read.notices = _notices(view.excel_rows, locale)
    read.rejected_rows = [_rejection(r, locale, principal) for r in view.rejected]
    read.rejected_rows_truncated = view.truncated
    read.skipped_rows = _skipped(view.job.skipped_rows, locale)
    return read


@router.get(
    "/imports/{import_id}/rejections",
    response_model=Page[ImportRejectionRead],
    responses=problem_responses(NotFound, Forbidden, ValidationFailed),
    summary="An import's rejected rows, a page at a time (all of them)",
)
async def list_import_rejections(
    request: Request,
    import_id: UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ImportRejectionRead]:
    """Every rejected row, column and reason in row order (masked for the reader); follow
    `next_cursor`. Same roles as `GET /v1/imports/{id}`."""
    rows, next_cursor = await import_service.list_rejections(
        session, principal, import_id, cursor, limit
    )
    locale = locale_of(request)
    return Page(items=[_rejection(r, locale, principal) for r in rows], next_cursor=next_cursor)


@router.get(
    "/imports/{import_id}/rejections.xlsx",
    response_class=Response,
    responses={
        200: {"content": {_XLSX: {}}, "description": "The rejected rows with 错误原因"},
        **problem_responses(NotFound, Forbidden, ValidationFailed),
    },
    summary="The rejected rows as a workbook to fix and import again",
)
async def get_import_rejections_xlsx(
    request: Request, import_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Each rejected row with its cells as read (a household's merged cells filled in), its
    number in the file (行号) and why (错误原因, in the reader's language), under the
    template's headers so the fixed rows import again; ID numbers and reasons masked for
    the reader. Same roles as `GET /v1/imports/{id}`."""
    job, content = await import_service.rejection_report(
        session, principal, import_id, locale_of(request)
    )
    name = f"被拒绝的行_{job.created_at:%Y-%m-%d}_{str(job.id)[:8]}.xlsx"
    return Response(content, media_type=_XLSX, headers={"Content-Disposition": _attachment(name)})


def _rejection(row: Any, locale: str, principal: Principal) -> ImportRejectionRead:
    return ImportRejectionRead(
        row_no=row.row_no,
        column=row.column,
        reason=report.mask_text(import_messages.show(row.reason, locale), principal) or "",
        code=import_messages.code_of(row.reason),
    )


def _skipped(rows: list[dict[str, Any]], locale: str) -> list[ImportSkippedRow]:
    return [
        ImportSkippedRow(
            row_no=row_no,
            reason=import_messages.show(reason, locale) or "",
            code=import_messages.code_of(reason),
        )
        for row_no, reason in report.stored_skipped(rows)
    ]


def _notices(excel_rows: int, locale: str) -> list[ImportNotice]:
    if not excel_rows:
        return []
    message = excel_column(excel_rows)
    return [ImportNotice(code=message.code or "", message=render(message, locale))]


def _summary(read: _S, locale: str, principal: Principal) -> _S:
    """Reasons are stored as messages: shown in the reader's language; the file name (often
    a person's name and ID number) masked for the reader."""
    read.error_code = import_messages.code_of(read.error)
    read.error = report.mask_text(import_messages.show(read.error, locale), principal)
    read.filename = report.mask_text(read.filename, principal) or ""
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
