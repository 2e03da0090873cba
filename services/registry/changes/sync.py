"""Partner sync (部门数据同步): a batch of households keyed by one partner system's ids, loaded
through the same set-based pipeline as ledger imports, answered per item."""

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.repository import SyncRepository
from services.registry.changes.schemas import (
    SyncBatch,
    SyncItemResult,
    SyncResult,
    UnreadableItem,
)
from services.registry.households.schemas import member_fact_errors, schooling_error
from services.registry.imports import repository as import_repository
from shared import idnumber
from shared.auth import Principal, Role
from shared.i18n import t

SYNC_ROLES = (Role.department, Role.service, Role.county_officer, Role.province_admin)

# The pipeline names ledger columns; a partner reads field names.
_FIELDS = {
    "户编号": "household_no",
    "行政区划代码": "region_code",
    "户类型": "category",
    "证件号码": "id_number",
    "与户主关系": "relation",
    "性别": "sex",
    "出生日期": "birth_date",
}
_LEDGER_COLUMN = {"id_number": "证件号码", "sex": "性别", "birth_date": "出生日期"}
_HOUSEHOLD_LEVEL = {"户编号", "行政区划代码", "户类型"}


async def sync_households(
    session: AsyncSession, principal: Principal, batch: SyncBatch
) -> SyncResult:
    principal.ensure_role(*SYNC_ROLES)
    external_ids = [i.external_id for i in batch.items if not isinstance(i, UnreadableItem)]
    known = await SyncRepository(session).known(batch.system, external_ids)
    # An unreadable item's id counts too: which of two copies is meant is not ours to guess.
    sent = Counter(i.external_id for i in batch.items if i.external_id is not None)
    repeated = {e for e, n in sent.items() if n > 1}
    records: list[tuple[Any, ...]] = []
    errors: list[tuple[int, list[tuple[str, str]]]] = []
    row_owner: dict[int, tuple[int, int | None]] = {}  # row_no -> (item, member)
    numbers: list[str | None] = []
    item_errors: dict[int, list[str]] = {}
    row_no = 0
    for i, item in enumerate(batch.items):
        if isinstance(item, UnreadableItem):
            item_errors[i] = item.reasons
            numbers.append(None)
            continue
        if item.external_id in repeated:
            item_errors.setdefault(i, []).append("external_id appears more than once in the batch")
            numbers.append(None)
            continue
        household_no = (
            known.get(item.external_id)
            or item.household_no
            or (f"{batch.system}:{item.external_id}"[:40])
        )
        numbers.append(household_no)
        for j, m in enumerate(item.members):
            row_no += 1
            row_owner[row_no] = (i, j)
            errs: list[tuple[str, str]] = []
            number = idnumber.normalize(m.id_number)
            sex, born = (m.sex.value if m.sex else None), m.birth_date
            # The household API's one rule on a member's identity.
            wrong = member_fact_errors(number, sex, born)
            errs += [(_LEDGER_COLUMN[field], message) for field, message in wrong.items()]
            if schooling := schooling_error(m.in_school, m.schooling_stage):
                errs.append(("在校生状况", schooling))
            if "id_number" not in wrong:
                facts = idnumber.parse(number)
                sex, born = sex or facts.sex, born or facts.birth_date
            records.append(
                (
                    row_no,
                    household_no,
                    item.region_code,
                    item.address,
                    item.category.value,
                    item.poverty_causes,
                    item.relocated,
                    item.phone,
                    m.name,
                    number,
                    m.relation.value,
                    sex,
                    born,
                    m.ethnicity or "汉族",  # as a ledger's blank 民族 cell
                    m.education,
                    m.in_school,
                    m.schooling_stage.value if m.schooling_stage else None,
                    m.health.value,
                    m.disability_grade,
                    m.labour_capacity.value,
                    m.migrant_work_months,
                    m.medical_insurance,
                    m.pension_insurance,
                    m.dibao,
                    m.tekun,
                    batch.system,
                    item.external_id,
                    bool(errs),
                )
            )
            if errs:
                errors.append((row_no, errs))
    outcome = await import_repository.load_households(
        session, principal, records, errors, per_household=True
    )
    for row, column, reason in outcome.rejections:
        owner, member = row_owner[row]
        if column == "户编号" and reason.endswith("another of its rows has errors"):
            continue
        field = _FIELDS.get(column, column)
        where = field if column in _HOUSEHOLD_LEVEL else f"members[{member}].{field}"
        item_errors.setdefault(owner, []).append(f"{where}: {reason}")
    ids = await SyncRepository(session).household_ids([n for n in numbers if n])
    results = []
    for i, item in enumerate(batch.items):
        item_no = numbers[i]
        status = (
            "rejected" if i in item_errors else outcome.households.get(item_no or "", "rejected")
        )
        reason = "; ".join(dict.fromkeys(item_errors.get(i, []))) or (
            t(
                "household {household_no} has errors in another item of this batch",
                "sync.household_rejected_elsewhere",
                household_no=item_no,
            )
        )
        results.append(
            SyncItemResult(
                external_id=item.external_id,
                household_id=ids.get(item_no or "") if status != "rejected" else None,
                status=status,
                reason=reason if status == "rejected" else None,
            )
        )
    counts = Counter(r.status for r in results)
    return SyncResult(
        system=batch.system,
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        items=results,
    )
