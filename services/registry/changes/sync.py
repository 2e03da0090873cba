"""Partner sync (部门数据同步): a batch of households keyed by one partner system's ids, loaded
through the same set-based pipeline as ledger imports, answered per item."""

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.repository import SyncRepository
from services.registry.changes.schemas import (
    ItemError,
    SyncBatch,
    SyncHousehold,
    SyncItemResult,
    SyncResult,
    UnreadableItem,
)
from services.registry.duplicates import service as duplicate_service
from services.registry.households.schemas import member_fact_errors, schooling_error
from services.registry.imports import repository as import_repository
from shared import clock, idnumber
from shared.auth import Principal, Role
from shared.errors import FieldError
from shared.i18n import EN, Message, t

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
# The pipeline's reasons sync says in its own (batch) terms, or not at all: a repeated ID
# number names the items, not a file's rows; "rejected whole" is what rejected means here.
_OWN_WORDS = {"id_number.repeated_in_file", "import.household_rejected_whole"}


def _items(indexes: list[int]) -> str:
    return ", ".join(str(i) for i in indexes)


def _batch_rules(batch: SyncBatch) -> dict[int, list[FieldError]]:
    """What only the batch as a whole shows: an external id or an ID number sent twice.
    Which copy is meant is not ours to guess, so every item holding one is refused, naming
    the others by their position in the batch."""
    errors: dict[int, list[FieldError]] = defaultdict(list)
    by_external: dict[str, list[int]] = defaultdict(list)
    by_number: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, item in enumerate(batch.items):
        if item.external_id is not None:
            by_external[item.external_id].append(i)
        if isinstance(item, SyncHousehold):
            for j, member in enumerate(item.members):
                by_number[idnumber.normalize(member.id_number)].append((i, j))
    for external_id, where in by_external.items():
        for i in where if len(where) > 1 else []:
            message = t(
                "external_id {external_id} appears more than once in the batch (items {items})",
                "sync.external_id_repeated",
                external_id=external_id,
                items=_items(where),
            )
            errors[i].append(FieldError(field="external_id", message=message))
    for where_members in by_number.values():
        owners = sorted({i for i, _ in where_members})
        for i, j in where_members if len(where_members) > 1 else []:
            message = t(
                "the ID number appears more than once in the batch (items {items})",
                "sync.id_number_repeated",
                items=_items(owners),
            )
            errors[i].append(FieldError(field=f"members[{j}].id_number", message=message))
    return errors


def _answer(
    index: int, external_id: str | None, errors: list[FieldError], locale: str
) -> SyncItemResult:
    shown = [ItemError(**e.rendered(locale)) for e in errors]
    return SyncItemResult(
        index=index,
        external_id=external_id,
        status="rejected",
        code=shown[0].code,
        errors=shown,
        reason="; ".join(f"{e.field}: {e.message}" for e in shown),
    )


async def sync_households(
    session: AsyncSession, principal: Principal, batch: SyncBatch, locale: str = EN
) -> SyncResult:
    principal.ensure_role(*SYNC_ROLES)
    external_ids = [i.external_id for i in batch.items if not isinstance(i, UnreadableItem)]
    known = await SyncRepository(session).known(batch.system, external_ids)
    item_errors = _batch_rules(batch)
    records: list[tuple[Any, ...]] = []
    errors: list[tuple[int, list[tuple[str, str]]]] = []
    row_owner: dict[int, tuple[int, int | None]] = {}  # row_no -> (item, member)
    numbers: list[str | None] = []
    row_no = 0
    for i, item in enumerate(batch.items):
        if isinstance(item, UnreadableItem):
            item_errors[i] = item.errors + item_errors.get(i, [])
            numbers.append(None)
            continue
        if any(e.code == "sync.external_id_repeated" for e in item_errors.get(i, [])):
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
            errs = _member_errors(m)
            # An item a batch rule refused is staged as bad, so it lands nowhere; the
            # pipeline's words about it (a file's rows) are left out below.
            bad = bool(errs) or i in item_errors
            records.append(_record(row_no, household_no, batch.system, item, m, bad))
            if errs:
                errors.append((row_no, errs))
    outcome = await import_repository.load_households(
        session, principal, records, errors, per_household=True
    )
    for row, column, reason in outcome.rejections:
        owner, member = row_owner[row]
        code = reason.code if isinstance(reason, Message) else None
        if code in _OWN_WORDS:
            continue
        field = _FIELDS.get(column, column)
        where = field if column in _HOUSEHOLD_LEVEL else f"members[{member}].{field}"
        found = item_errors.setdefault(owner, [])
        if not any(e.field == where and str(e.message) == str(reason) for e in found):
            found.append(FieldError(field=where, message=reason))
    repo = SyncRepository(session)
    ids = await repo.household_ids([n for n in numbers if n])
    landed = {
        i: ids[n]
        for i, n in enumerate(numbers)
        if n and i not in item_errors and outcome.households.get(n, "rejected") != "rejected"
    }
    departed: dict[Any, int] = {}
    if batch.absent_members == "depart" and landed:
        departed = await repo.depart_absent(
            principal, _listed(batch, landed), clock.today(), _DEPARTURE_REASON
        )
    results = []
    for i, item in enumerate(batch.items):
        item_no = numbers[i]
        if i not in landed:
            why = item_errors.get(i) or [
                FieldError(
                    field="household_no",
                    message=t(
                        "household {household_no} has errors in another item of this batch",
                        "sync.household_rejected_elsewhere",
                        household_no=item_no,
                    ),
                )
            ]
            results.append(_answer(i, item.external_id, why, locale))
            continue
        status = outcome.households[item_no or ""]
        gone = departed.get(landed[i], 0)
        results.append(
            SyncItemResult(
                index=i,
                external_id=item.external_id,
                household_id=landed[i],
                status="updated" if gone and status == "unchanged" else status,
                departed_members=gone,
            )
        )
    await _warn_of_duplicates(session, principal, batch, results)
    counts = Counter(r.status for r in results)
    return SyncResult(
        system=batch.system,
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        items=results,
    )


async def _warn_of_duplicates(
    session: AsyncSession, principal: Principal, batch: SyncBatch, results: list[SyncItemResult]
) -> None:
    """The check at entry: the members of each created or updated item against the registry."""
    written = {
        r.index: [idnumber.normalize(m.id_number) for m in batch.items[r.index].members]  # type: ignore[union-attr]
        for r in results
        if r.status in ("created", "updated")
    }
    found = await duplicate_service.possible_duplicates_by_number(
        session, principal, [n for numbers in written.values() for n in numbers]
    )
    for r in results:
        r.possible_duplicates = [p for n in written.get(r.index, []) for p in found.get(n, [])]


_DEPARTURE_REASON = "moved"  # 迁出: no longer in the partner's household


def _listed(batch: SyncBatch, landed: dict[int, Any]) -> list[dict[str, Any]]:
    """The ID numbers each landed item lists, by household id."""
    out = []
    for i, household_id in landed.items():
        item = batch.items[i]
        assert isinstance(item, SyncHousehold)
        numbers = [idnumber.normalize(m.id_number) for m in item.members]
        out.append({"household_id": str(household_id), "id_numbers": numbers})
    return out


def _member_errors(m: Any) -> list[tuple[str, str]]:
    """The household API's rules on one member (identity, schooling), by ledger column."""
    errs: list[tuple[str, str]] = []
    number = idnumber.normalize(m.id_number)
    sex = m.sex.value if m.sex else None
    wrong = member_fact_errors(number, sex, m.birth_date)
    errs += [(_LEDGER_COLUMN[field], message) for field, message in wrong.items()]
    if schooling := schooling_error(m.in_school, m.schooling_stage):
        errs.append(("在校生状况", schooling))
    return errs


def _record(
    row_no: int, household_no: str, system: str, item: SyncHousehold, m: Any, bad: bool
) -> tuple[Any, ...]:
    """One member row as the pipeline stages it (the ledger's column order)."""
    number = idnumber.normalize(m.id_number)
    sex, born = (m.sex.value if m.sex else None), m.birth_date
    if "id_number" not in member_fact_errors(number, sex, born):
        facts = idnumber.parse(number)
        sex, born = sex or facts.sex, born or facts.birth_date
    return (
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
        system,
        item.external_id,
        bad,
    )
