"""A change log that proves itself: each committed entry's ``hash`` is
``sha256(previous entry's hash || digest of its content)``, per service, in commit order
(``position``), set at the commit that numbers it (migration 0041_chain).

``verify`` walks a service's chain in one streamed pass and names the first entry whose hash
does not follow: one changed since its commit (a superuser with the append-only triggers
disabled), or the one after a deleted entry. Rewriting every later hash as well passes the
walk; the chain head the daily job writes to the job log (``head``), copied outside the
database, is what catches that. ``GET /v1/audit/verify`` on each service and ``povguard audit
verify`` answer the same report."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role, require_roles
from shared.changelog.repository import ChainRepository
from shared.db import SessionDep
from shared.errors import Forbidden, problem_responses
from shared.i18n import render, t
from shared.problem_handlers import locale_of

VERIFY_ROLES = (Role.province_admin, Role.auditor)
SCHEMAS = ("registry", "monitoring", "funds")


class BadEntry(BaseModel):
    seq: int = Field(description="The entry's `seq` (as the audit views show it).")
    position: int = Field(description="Its place in commit order.")
    at: datetime
    why: str = Field(description="What does not hold (中文).")


class ChainHead(BaseModel):
    position: int
    seq: int
    committed_at: datetime | None
    hash: str | None = Field(description="sha256, hex.")


class ChainReport(BaseModel):
    service: str
    ok: bool
    entries: int = Field(description="Committed entries walked.")
    first_bad: BadEntry | None = Field(
        description="The first entry whose hash does not follow (null when `ok`)."
    )
    head: ChainHead | None = Field(
        description="The last entry and its hash: compare with the copy the daily job logged."
    )


async def head(session: AsyncSession, schema: str) -> ChainHead | None:
    row = await ChainRepository(session, schema).head()
    return ChainHead.model_validate(row, from_attributes=True) if row is not None else None


async def verify(session: AsyncSession, schema: str) -> ChainReport:
    repo = ChainRepository(session, schema)
    entries, first_bad = await repo.walk()
    bad = None
    if first_bad is not None:
        row = await repo.entry(first_bad)
        if row.unhashed:
            why = t("it has no hash", "chain.unhashed")
        elif first_bad - (row.previous or 0) > 1:  # a position missing before it
            why = t(
                "it does not follow the entry before it: an entry between them was deleted, "
                "or this one was changed",
                "chain.gap",
            )
        else:
            why = t("its content or hash was changed after its commit", "chain.changed")
        bad = BadEntry(seq=row.seq, position=first_bad, at=row.at, why=why)
    return ChainReport(
        service=schema,
        ok=bad is None,
        entries=entries,
        first_bad=bad,
        head=await head(session, schema),
    )


def audit_router(schema: str) -> APIRouter:
    """``GET /v1/audit/verify`` of the service whose change log is ``schema``."""
    router = APIRouter(tags=["audit"])

    @router.get(
        "/audit/verify",
        response_model=ChainReport,
        responses=problem_responses(Forbidden),
        summary="Walk the change log's hash chain (province admin, auditor)",
        operation_id="verify_audit_chain",
    )
    async def verify_audit_chain(
        request: Request,
        session: SessionDep,
        principal: Annotated[Principal, require_roles(*VERIFY_ROLES)],
    ) -> ChainReport:
        """核验变更日志的哈希链：每条记录的哈希 = sha256(上一条的哈希 || 本条内容摘要)，按提交顺序。
        Walks this service's whole change log in commit order and checks every entry's hash
        against its content and the previous entry's hash: `ok`, the number of `entries` and
        the `first_bad` one (`seq`, `at`, `why`), and the `head` to compare with the copy the
        daily job wrote to the job log. Takes about a minute per 10 million entries. Who:
        province admin and auditor. Answers 200 `ChainReport` (also when the chain is
        broken: `ok` false)."""
        report = await verify(session, schema)
        if report.first_bad is not None:  # in the reader's language, as problems are
            report.first_bad.why = render(report.first_bad.why, locale_of(request))
        return report

    return router
