"""Offline batches in monitoring: a cadre's case steps (入户核查, 帮扶措施, 走访) recorded on a
phone without signal, sent together and answered per item like the registry's batches. Each
step goes through ``cases.service.act``: the same stages, roles, scope and change log."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.cases import service as case_service
from services.monitoring.cases.schemas import CaseActionRequest
from services.monitoring.database import BatchItemAnswer, ChangeLogEntry
from shared.auth import Principal
from shared.batches import runner
from shared.batches.repository import BatchRepository
from shared.batches.runner import Applied, conflicts, parse, refuse
from shared.batches.schemas import BatchAnswer, BatchItem, BatchRequest
from shared.i18n import t
from shared.registry_client import RegistryClient

# What a step decides on: the stage the cadre saw. A change to it since base_version (another
# step taken meanwhile) is a hard conflict; anything else (an overdue mark, a follow-up that
# kept the stage) is soft, and the step is taken on top.
_STEP_FIELDS = {"stage"}
OPS = (("case", "action"),)


async def run_batch(
    session: AsyncSession,
    principal: Principal,
    request: BatchRequest,
    registry: RegistryClient,
    token: str | None,
    locale: str,
) -> BatchAnswer:
    async def handle(
        session: AsyncSession, principal: Principal, item: BatchItem, repo: BatchRepository
    ) -> Applied:
        return await _case_step(session, principal, item, repo, registry, token)

    repo = BatchRepository(session, BatchItemAnswer, ChangeLogEntry)
    return await runner.run(session, principal, request, handle, repo, locale)


async def _case_step(
    session: AsyncSession,
    principal: Principal,
    item: BatchItem,
    repo: BatchRepository,
    registry: RegistryClient,
    token: str | None,
) -> Applied:
    if (item.entity, item.op) not in OPS:
        raise refuse(
            "op",
            t(
                "{entity} does not take op {op}; known: {known}",
                "batch.unknown_op",
                entity=item.entity,
                op=item.op,
                known="case/action",
            ),
        )
    step = parse(CaseActionRequest, item.data)
    if item.id is None:
        raise refuse("id", t("{name} is required for this op", "batch.field_required", name="id"))
    case = await case_service.get_case(session, principal, item.id)
    soft = await conflicts(repo, item, "case", item.id, str(item.id), case.version, _STEP_FIELDS)
    done = await case_service.act(
        session, principal, item.id, step, registry, token, if_match=str(case.version)
    )
    return Applied(done.id, done.version, soft_fields=soft)
