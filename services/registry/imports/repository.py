"""Every statement of ledger imports: the import jobs' rows (``ImportRepository``) and the
set-based load behind imports, partner sync and the demo data.

Rows are validated field by field in Python, COPYed into a temporary staging table, checked
across rows in SQL (duplicates in the batch and against the registry, regions and scope,
exactly one head per household), and then whole households land with ``INSERT ... SELECT ...
ON CONFLICT``, their change-log entries written by the same statements. A
household with any bad row is rejected whole; rows equal to the registry change nothing."""

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households import messages
from services.registry.households.service import CATEGORY_ROLES
from services.registry.imports import messages as import_messages
from services.registry.imports.models import ImportFile, ImportJob, ImportRejection
from services.registry.imports.rows import (
    ECONOMICS_STAGE,
    HOUSEHOLD_STAGE,
    REGION_CODE_FORMAT,
    Errors,
    StagedFrame,
)
from services.registry.imports.template import CATEGORY_LABELS
from services.registry.webhooks import HUB as WEBHOOKS  # registered wherever it writes
from shared.auth import Principal
from shared.contracts import sql as contract_sql
from shared.contracts.registry import EconomicsSnapshot, HouseholdSnapshot, MemberSnapshot
from shared.repository import RepositoryBase
from shared.webhooks import service as webhook_service

REPEATED_IN_FILE_ROWS = "the ID number appears more than once in the file (rows {rows})"
REJECTED_WHOLE = "household {household_no} is rejected whole: another of its rows has errors"
CATEGORY_DIFFERS = (
    "household {household_no} is {category} in the registry: a category changes only through "
    "PUT /v1/households/{{id}}/category"
)
VILLAGE_DIFFERS = (
    "household {household_no} is registered in village {village}: an import does not move a "
    "household to another village"
)
OTHER_HEAD = (
    "household {household_no} has another head (户主) in the registry who is not in the file; "
    "record that change through the household API"
)


@dataclass
class Outcome:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0
    # household_no -> created | updated | unchanged | rejected (only when asked for)
    households: dict[str, str] = field(default_factory=dict)
    # (row_no, column, reason)
    rejections: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        self.rows += other.rows
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.unchanged += other.unchanged


async def _raw(session: AsyncSession) -> Any:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def _temp(session: AsyncSession, name: str, columns: Sequence[tuple[str, str]]) -> None:
    await session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))
    cols = ", ".join(f"{c} {t}" for c, t in columns)
    await session.execute(text(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP"))


async def _copy(
    session: AsyncSession, name: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    if records:
        driver = await _raw(session)
        await driver.copy_records_to_table(name, records=records, columns=list(columns))


async def _copy_frame(session: AsyncSession, name: str, staged: StagedFrame) -> None:
    if len(staged):

        async def parts() -> AsyncIterator[bytes]:
            for part in staged.copy_data():
                yield part

        driver = await _raw(session)
        await driver.copy_to_table(
            name, source=parts(), columns=staged.frame.columns, format="binary"
        )


async def _stage(
    session: AsyncSession,
    stage_columns: Sequence[tuple[str, str]],
    records: Sequence[tuple[Any, ...]],
    errors: Sequence[tuple[int, Errors]],
) -> None:
    # The member statement keeps three row sets of the chunk (the staged rows with their
    # household, the upserted rows, their snapshots) in memory; with the default 4 MB they
    # spill to temporary files, and the statement took a fifth longer (2.7 s instead of 2.1 s
    # of CPU for 50,000 new members). A chunk needs some tens of megabytes.
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    await _temp(session, "import_stage", stage_columns)
    await _temp(
        session, "import_rejects", [("row_no", "integer"), ("col", "text"), ("reason", "text")]
    )
    if isinstance(records, StagedFrame):
        await _copy_frame(session, "import_stage", records)
    else:
        await _copy(session, "import_stage", [c for c, _ in stage_columns], records)
    await _copy(
        session,
        "import_rejects",
        ["row_no", "col", "reason"],
        [
            (row_no, col, import_messages.encode(reason))
            for row_no, errs in errors
            for col, reason in errs
        ],
    )
    # The planner needs only rough sizes and distinct counts of the staged rows for its joins:
    # statistics from a 3,000-row sample (target 10) instead of 30,000 take 0.03 s per 50,000
    # rows instead of 0.37 s (a tenth of the whole chunk's load).
    await session.execute(text("SET LOCAL default_statistics_target = 10"))
    await session.execute(text("ANALYZE pg_temp.import_stage"))


async def _run(session: AsyncSession, sql: str, **params: Any) -> Any:
    return await session.execute(text(sql), params)


async def _rejections(session: AsyncSession) -> list[tuple[int, str, str]]:
    """The batch's rejections, each reason a Message (its English text, rendered again in
    the reader's language where it is shown)."""
    rows = await _run(
        session, "SELECT DISTINCT row_no, col, reason FROM import_rejects ORDER BY row_no, col"
    )
    return [(r.row_no, r.col, import_messages.decode(r.reason) or "") for r in rows]


def _msg(code: str, template: str, /, **params: str) -> str:
    """SQL making a reason as it is stored (``messages.encode``'s JSON): the code and the
    English template, with parameters from SQL expressions."""
    pairs = ", ".join(f"'{k}', {v}" for k, v in params.items())
    literal = template.replace("'", "''")
    return (
        f"jsonb_build_object('code', '{code}', 'template', '{literal}', "
        f"'params', jsonb_build_object({pairs}))::text"
    )


# A change event's ``data`` is the contract's snapshot, field for field, generated from it:
# a field added to HouseholdSnapshot or MemberSnapshot lands in the events of this path too.
HOUSEHOLD_SNAPSHOT = contract_sql.snapshot_object(HouseholdSnapshot, "{h}")


def member_snapshot_join(m: str, alias: str) -> str:
    """A join clause that makes ``to_jsonb(alias)`` the member row ``m``'s snapshot."""
    return contract_sql.snapshot_lateral(MemberSnapshot, m, alias)


_MEMBER_FIELDS = [
    "name",
    "relation",
    "sex",
    "birth_date",
    "ethnicity",
    "education",
    "in_school",
    "schooling_stage",
    "health",
    "disability_grade",
    "labour_capacity",
    "migrant_work_months",
    "medical_insurance",
    "pension_insurance",
    "dibao",
    "tekun",
]
# The category is set when a household is created; later it changes only through the
# category procedure (监测户 and back), so an import never changes it.
_HH_FIELDS = ["region_code", "address", "poverty_causes", "relocated", "phone"]
_CATEGORY_LABEL = (
    "CASE h.category "
    + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CATEGORY_LABELS.items())
    + " END"
)


# Time-ordered ids (the UUIDv7 layout, as ``shared.db.ordered_uuid``: 48 bits of Unix
# milliseconds, then the file's row number, then random bits): the rows of one load land next
# to each other in the primary key and id indexes instead of on random pages, which keeps big
# imports fast once the indexes outgrow the buffer cache, and members sort in file order.
# The time part is a scalar subquery, computed once per statement rather than per row, and the
# 32 random bits come from random() in hex rather than an md5 of its text.
TIME_ORDERED_UUID = """CAST(
    (SELECT lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '70008')
    || lpad(to_hex(row_no), 7, '0') || lpad(to_hex((random() * 4294967295)::bigint), 8, '0')
    AS uuid)"""


def _distinct(target: str, fields: Sequence[str]) -> str:
    ours = ", ".join(f"{target}.{f}" for f in fields)
    theirs = ", ".join(f"excluded.{f}" for f in fields)
    return f"({ours}) IS DISTINCT FROM ({theirs})"


# The reasons the rules below store, as SQL expressions.
_ID_NUMBER_REPEATED_IN_FILE = _msg(
    "id_number.repeated_in_file", REPEATED_IN_FILE_ROWS, rows="left(d.rows, 200)"
)
_ID_NUMBER_REGISTERED = _msg(
    "id_number.registered",
    "the ID number is already registered in household {household_no}",
    household_no="h.household_no",
)
_REGION_OUTSIDE_SCOPE = _msg(
    "region.outside_scope", "{region} is outside your region", region="s.region_code"
)
_REGION_UNKNOWN = _msg("region.unknown", "unknown region code {region}", region="s.region_code")
# One message per level, so the Chinese names the level in Chinese too.
_REGION_NOT_VILLAGE = (
    "CASE r.level "
    + " ".join(
        f"WHEN '{level}' THEN "
        + _msg(
            "region.not_village",
            f"{{region}} is a {level}, not a village",
            region="s.region_code",
        )
        for level in ("province", "city", "county", "township")
    )
    + " END"
)
_IMPORT_CATEGORY_DIFFERS = _msg(
    "import.category_differs",
    CATEGORY_DIFFERS,
    household_no="s.household_no",
    category=_CATEGORY_LABEL,
)
_IMPORT_VILLAGE_DIFFERS = _msg(
    "import.village_differs",
    VILLAGE_DIFFERS,
    household_no="s.household_no",
    village="h.region_code",
)
_IMPORT_MONITORED_COUNTY_ONLY = _msg(
    "import.monitored_county_only", "only the county registers a household as 监测户"
)
_IMPORT_HEADS = _msg(
    "import.heads",
    "household {household_no} has {heads} heads (户主) in the file; it needs exactly one",
    household_no="s.household_no",
    heads="g.heads",
)
_IMPORT_REGION_DIFFERS_IN_HOUSEHOLD = _msg(
    "import.region_differs_in_household",
    "differs from the first row of household {household_no} (row {row})",
    household_no="s.household_no",
    row="f.row_no",
)
_IMPORT_HOUSEHOLD_REJECTED_WHOLE = _msg(
    "import.household_rejected_whole", REJECTED_WHOLE, household_no="s.household_no"
)
_IMPORT_YEAR_REPEATED = _msg(
    "import.year_repeated",
    "household {household_no} has year {year} more than once in the file (rows {rows})",
    household_no="s.household_no",
    year="s.year",
    rows="left(d.rows, 200)",
)
_IMPORT_HOUSEHOLD_UNKNOWN = _msg(
    "import.household_unknown",
    "no household {household_no} in your region",
    household_no="s.household_no",
)
_IMPORT_HOUSEHOLD_EMPTY = _msg(
    "import.household_empty",
    "household {household_no} has no resident members",
    household_no="s.household_no",
)
_ID_NUMBER_TAKEN = _msg("id_number.taken", str(messages.ID_NUMBER_TAKEN))
_REGION_CODE_FORMAT = _msg("region.code_format", REGION_CODE_FORMAT)
_HOUSEHOLD_NO_TAKEN = _msg("household_no.taken", str(messages.HOUSEHOLD_NO_TAKEN))
_IMPORT_OTHER_HEAD = _msg("import.other_head", OTHER_HEAD, household_no="s.household_no")


async def _household_rules(session: AsyncSession, principal: Principal) -> None:
    """Cross-row rules; each bad row gets a (row, column, reason).

    Lookups into the registry from the chunk's rows are written ``JOIN LATERAL (... OFFSET
    0)``, which keeps them index lookups per staged row: as plain joins the planner hashed
    the whole members table for every chunk (0.2-0.35 s per chunk at 300,000 members, and
    growing with the registry)."""
    prefix = principal.region_prefix
    await _run(
        session,
        f"""
        WITH valid AS (
            -- A number the field rules refused (what Excel made of an ID number above all:
            -- 5.22301E+17 for every row) has its own reason and is never a repeat.
            SELECT row_no, id_number FROM import_stage
             WHERE id_number <> '' AND row_no NOT IN (SELECT row_no FROM import_rejects
                                                       WHERE col = '证件号码')
        )
        INSERT INTO import_rejects
        SELECT s.row_no, '证件号码', {_ID_NUMBER_REPEATED_IN_FILE}
          FROM valid s
          JOIN (SELECT id_number, string_agg(row_no::text, ', ' ORDER BY row_no) AS rows
                  FROM valid GROUP BY id_number HAVING count(*) > 1) d USING (id_number)
        """,
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '证件号码',
               CASE WHEN h.region_code LIKE :prefix
                    THEN {_ID_NUMBER_REGISTERED}
                    ELSE {_ID_NUMBER_TAKEN} END
          FROM import_stage s
          JOIN registry.members m ON m.id_number = s.id_number
          JOIN registry.households h ON h.id = m.household_id
         -- Outside the caller's region the answer never depends on which household holds
         -- the number: always taken, and nothing at all for a row whose household number
         -- is itself taken outside (that row has household_no.taken alone).
         WHERE CASE WHEN h.region_code LIKE :prefix
                    THEN h.household_no IS DISTINCT FROM s.household_no
                    ELSE NOT EXISTS (SELECT 1 FROM registry.households o
                                      WHERE o.household_no = s.household_no
                                        AND o.region_code NOT LIKE :prefix) END
        """,
        prefix=prefix + "%",
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '行政区划代码',
               CASE WHEN s.region_code !~ '^[0-9]{{12}}$'
                        THEN {_REGION_CODE_FORMAT}
                    WHEN s.region_code NOT LIKE :prefix
                        THEN {_REGION_OUTSIDE_SCOPE}
                    WHEN r.code IS NULL
                        THEN {_REGION_UNKNOWN}
                    ELSE {_REGION_NOT_VILLAGE} END
          FROM import_stage s
          LEFT JOIN registry.regions r ON r.code = s.region_code
         -- fails closed: a code the field rules let through (a caller other than the
         -- ledger reader) is still refused unless it is a village in the caller's region
         WHERE s.region_code !~ '^[0-9]{{12}}$' OR s.region_code NOT LIKE :prefix
            OR r.code IS NULL OR r.level <> 'village'
        """,
        prefix=prefix + "%",
    )
    # What the registry already holds for a household in the file: its region and category
    # change only through their own procedures, and another region's household is not yours.
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, v.col, v.reason
          FROM import_stage s
          JOIN registry.households h USING (household_no)
         CROSS JOIN LATERAL (VALUES
               ('户编号', CASE WHEN h.region_code NOT LIKE :prefix THEN
                    {_HOUSEHOLD_NO_TAKEN} END),
               ('户类型', CASE WHEN h.region_code LIKE :prefix AND s.category <> h.category THEN
                    {_IMPORT_CATEGORY_DIFFERS} END),
               ('行政区划代码', CASE WHEN h.region_code LIKE :prefix
                                    AND s.region_code <> h.region_code THEN
                    {_IMPORT_VILLAGE_DIFFERS} END)
         ) v(col, reason)
         WHERE v.reason IS NOT NULL
        """,
        prefix=prefix + "%",
    )
    if principal.role not in CATEGORY_ROLES:
        # As through the API: only the county registers a household directly as 监测户.
        await _run(
            session,
            f"""
            INSERT INTO import_rejects
            SELECT s.row_no, '户类型',
                   {_IMPORT_MONITORED_COUNTY_ONLY}
              FROM import_stage s
             WHERE s.category = 'monitored'
               AND NOT EXISTS (SELECT 1 FROM registry.households h
                                WHERE h.household_no = s.household_no)
            """,
        )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '与户主关系',
               {_IMPORT_HEADS}
          FROM import_stage s
          JOIN (SELECT household_no, count(*) FILTER (WHERE relation = 'head') AS heads
                  FROM import_stage WHERE household_no IS NOT NULL
                 GROUP BY household_no
                HAVING count(*) FILTER (WHERE relation = 'head') <> 1) g USING (household_no)
         WHERE g.heads = 0 OR s.relation = 'head'
        """,
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '与户主关系',
               {_IMPORT_OTHER_HEAD}
          FROM import_stage s
         CROSS JOIN LATERAL (
               SELECT m.id_number
                 FROM registry.households h
                 JOIN registry.members m
                   ON m.household_id = h.id AND m.relation = 'head' AND m.departed_on IS NULL
                WHERE h.household_no = s.household_no AND h.region_code LIKE :prefix
               OFFSET 0) m
         WHERE s.relation = 'head' AND m.id_number <> s.id_number
           AND NOT EXISTS (SELECT 1 FROM import_stage o
                            WHERE o.id_number = m.id_number AND o.household_no = s.household_no)
        """,
        prefix=prefix + "%",
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '行政区划代码',
               {_IMPORT_REGION_DIFFERS_IN_HOUSEHOLD}
          FROM import_stage s
          JOIN (SELECT DISTINCT ON (household_no) household_no, row_no, region_code
                  FROM import_stage ORDER BY household_no, row_no) f USING (household_no)
         WHERE s.region_code <> f.region_code
        """,
    )
    # A household with any bad row is rejected whole; its other rows say why.
    await _run(
        session,
        """
        UPDATE import_stage s SET bad = true
         WHERE NOT s.bad AND (s.row_no IN (SELECT row_no FROM import_rejects)
               OR s.household_no IN (SELECT st.household_no FROM import_stage st
                                       JOIN import_rejects r USING (row_no)))
        """,
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '户编号',
               {_IMPORT_HOUSEHOLD_REJECTED_WHOLE}
          FROM import_stage s
         WHERE s.bad AND NOT EXISTS (SELECT 1 FROM import_rejects r WHERE r.row_no = s.row_no)
        """,
    )


async def load_households(
    session: AsyncSession,
    principal: Principal,
    records: Sequence[tuple[Any, ...]],
    errors: Sequence[tuple[int, Errors]],
    *,
    per_household: bool = False,
) -> Outcome:
    """Load one batch of member rows (whole households) in the session's transaction."""
    webhook_service.kick(session, WEBHOOKS.service)  # its change events, once it commits
    await _stage(session, HOUSEHOLD_STAGE, records, errors)
    await _household_rules(session, principal)
    await _temp(
        session,
        "import_households",
        [("household_no", "text"), ("id", "uuid"), ("inserted", "boolean")],
    )
    await _temp(session, "import_members", [("id_number", "text")])
    actor = {
        "actor": principal.sub,
        "role": principal.role.value,
        "client_id": principal.client_id,
    }
    await _run(
        session,
        f"""
        WITH src AS (
            SELECT DISTINCT ON (household_no) household_no, row_no, region_code, address,
                   category, poverty_causes, relocated, phone, ext_system, ext_id
              FROM import_stage WHERE NOT bad ORDER BY household_no, row_no
        ), old AS (
            SELECT h.* FROM registry.households h JOIN src USING (household_no)
        ), up AS (
            INSERT INTO registry.households AS h
                   (id, region_code, household_no, address, category, poverty_causes, relocated,
                    at_risk, external_ids, phone, version, created_at, updated_at)
            SELECT {TIME_ORDERED_UUID}, region_code, household_no, coalesce(address, ''), category,
                   to_jsonb(poverty_causes), relocated, category = 'monitored',
                   CASE WHEN ext_system IS NULL THEN '{{}}'::jsonb
                        ELSE jsonb_build_object(ext_system, ext_id) END,
                   phone, 1, now(), now()
              FROM src
            ON CONFLICT (household_no) DO UPDATE
               SET region_code = excluded.region_code, address = excluded.address,
                   poverty_causes = excluded.poverty_causes,
                   relocated = excluded.relocated, phone = excluded.phone,
                   external_ids = h.external_ids || excluded.external_ids,
                   version = h.version + 1, updated_at = now()
             WHERE {_distinct("h", _HH_FIELDS)} OR NOT h.external_ids @> excluded.external_ids
            RETURNING h.*, (xmax = 0) AS inserted
        ), snap AS MATERIALIZED (
            SELECT up.id, up.region_code, up.inserted, {HOUSEHOLD_SNAPSHOT.format(h="up")} AS data,
                   jsonb_build_object('address', up.address, 'phone', up.phone) AS extra,
                   CASE WHEN up.inserted THEN 'create' ELSE 'update' END AS op
              FROM up
        ), log AS (
            INSERT INTO registry.change_log
                   (actor, actor_role, client_id, action, entity, entity_id, household_id,
                    region_code, op, old, new, data)
            SELECT :actor, :role, CAST(:client_id AS varchar), snap.op, 'household',
                   snap.id::text, snap.id, snap.region_code, snap.op,
                   CASE WHEN snap.inserted THEN NULL
                        ELSE {HOUSEHOLD_SNAPSHOT.format(h="old")} || jsonb_build_object(
                             'address', old.address, 'phone', old.phone) END,
                   nullif(snap.data || snap.extra, snap.data), snap.data
              FROM snap LEFT JOIN old ON old.id = snap.id AND NOT snap.inserted
        ), history AS (
            INSERT INTO registry.household_category_changes
                   (household_id, region_code, from_category, to_category, reason, changed_at,
                    changed_by)
            SELECT up.id, up.region_code, old.category, up.category, 'ledger import', now(), :actor
              FROM up LEFT JOIN old ON old.id = up.id
             WHERE old.category IS DISTINCT FROM up.category
        )
        INSERT INTO import_households SELECT household_no, id, inserted FROM up
        """,
        **actor,
    )
    # ``old`` is the member row as it was before this statement (every part of one statement
    # reads the same snapshot), fetched by primary key for updated rows only: joined by ID
    # number it made the planner hash the whole members table for every chunk (0.35 s at
    # 300,000 members), although a chunk of new households updates nothing.
    member_cols = ", ".join(_MEMBER_FIELDS)
    member_set = ", ".join(f"{f} = excluded.{f}" for f in ["region_code", *_MEMBER_FIELDS])
    await _run(
        session,
        f"""
        WITH src AS (
            SELECT s.*, h.id AS household_id, h.region_code AS hh_region
              FROM import_stage s JOIN registry.households h USING (household_no)
             WHERE NOT s.bad
        ), up AS (
            INSERT INTO registry.members AS m
                   (id, household_id, region_code, id_number, {member_cols}, version,
                    created_at, updated_at)
            SELECT {TIME_ORDERED_UUID}, household_id, hh_region, id_number, {member_cols}, 1,
                   now(), now()
              FROM src
            ON CONFLICT (id_number) DO UPDATE
               SET {member_set}, version = m.version + 1, updated_at = now()
             WHERE {_distinct("m", ["region_code", *_MEMBER_FIELDS])}
            RETURNING m.*, (xmax = 0) AS inserted
        ), snap AS MATERIALIZED (
            SELECT up.id, up.household_id, up.region_code, up.id_number, up.inserted,
                   to_jsonb(snap_new) AS data,
                   CASE WHEN up.inserted THEN 'create' ELSE 'update' END AS op
              FROM up {member_snapshot_join("up", "snap_new")}
        ), log AS (
            INSERT INTO registry.change_log
                   (actor, actor_role, client_id, action, entity, entity_id, household_id,
                    region_code, op, old, data)
            SELECT :actor, :role, CAST(:client_id AS varchar), snap.op, 'member', snap.id::text,
                   snap.household_id, snap.region_code, snap.op,
                   CASE WHEN snap.inserted THEN NULL ELSE to_jsonb(snap_old) END, snap.data
              FROM snap
              LEFT JOIN LATERAL (SELECT m.* FROM registry.members m
                                  WHERE m.id = snap.id AND NOT snap.inserted OFFSET 0) old ON true
                   {member_snapshot_join("old", "snap_old")}
        )
        INSERT INTO import_members SELECT id_number FROM snap
        """,
        **actor,
    )
    await _run(
        session,
        """
        INSERT INTO registry.household_external_ids (system, external_id, household_id, region_code)
        SELECT DISTINCT ON (s.ext_system, s.ext_id) s.ext_system, s.ext_id, h.id, h.region_code
          FROM import_stage s JOIN registry.households h USING (household_no)
         WHERE s.ext_system IS NOT NULL AND NOT s.bad
        ON CONFLICT (system, external_id) DO UPDATE SET region_code = excluded.region_code
         WHERE household_external_ids.region_code <> excluded.region_code
        """,
    )
    counts = (
        await _run(
            session,
            """
            SELECT count(*) AS rows,
                   count(*) FILTER (WHERE s.bad) AS rejected,
                   count(*) FILTER (WHERE NOT s.bad AND (ih.household_no IS NOT NULL
                                    OR im.id_number IS NOT NULL)) AS accepted
              FROM import_stage s
              LEFT JOIN import_households ih USING (household_no)
              LEFT JOIN import_members im USING (id_number)
            """,
        )
    ).one()
    outcome = Outcome(
        rows=counts.rows,
        accepted=counts.accepted,
        rejected=counts.rejected,
        unchanged=counts.rows - counts.rejected - counts.accepted,
    )
    if per_household:
        result = await _run(
            session,
            """
            SELECT s.household_no,
                   CASE WHEN bool_or(s.bad) THEN 'rejected'
                        WHEN bool_or(ih.inserted) THEN 'created'
                        WHEN bool_or(ih.household_no IS NOT NULL OR im.id_number IS NOT NULL)
                             THEN 'updated'
                        ELSE 'unchanged' END AS status
              FROM import_stage s
              LEFT JOIN import_households ih USING (household_no)
              LEFT JOIN import_members im USING (id_number)
             WHERE s.household_no IS NOT NULL
             GROUP BY s.household_no
            """,
        )
        outcome.households = {r.household_no: r.status for r in result}
    outcome.rejections = await _rejections(session)
    return outcome


async def load_economics(
    session: AsyncSession,
    principal: Principal,
    records: Sequence[tuple[Any, ...]],
    errors: Sequence[tuple[int, Errors]],
) -> Outcome:
    """Load one batch of household-year rows."""
    webhook_service.kick(session, WEBHOOKS.service)  # its change events, once it commits
    prefix = principal.region_prefix + "%"
    await _stage(session, ECONOMICS_STAGE, records, errors)
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '年度',
               {_IMPORT_YEAR_REPEATED}
          FROM import_stage s
          JOIN (SELECT household_no, year, string_agg(row_no::text, ', ' ORDER BY row_no) AS rows
                  FROM import_stage WHERE NOT bad
                 GROUP BY household_no, year HAVING count(*) > 1) d USING (household_no, year)
        """,
    )
    await _run(
        session,
        f"""
        INSERT INTO import_rejects
        SELECT s.row_no, '户编号',
               CASE WHEN h.id IS NULL OR h.region_code NOT LIKE :prefix
                    THEN {_IMPORT_HOUSEHOLD_UNKNOWN}
                    ELSE {_IMPORT_HOUSEHOLD_EMPTY} END
          FROM import_stage s
          LEFT JOIN registry.households h USING (household_no)
         WHERE s.household_no IS NOT NULL AND (h.id IS NULL OR h.region_code NOT LIKE :prefix
               OR NOT EXISTS (SELECT 1 FROM registry.members m
                               WHERE m.household_id = h.id AND m.departed_on IS NULL))
        """,
        prefix=prefix,
    )
    await _run(
        session,
        "UPDATE import_stage SET bad = true WHERE NOT bad "
        "AND row_no IN (SELECT row_no FROM import_rejects)",
    )
    await _temp(session, "import_changed", [("household_no", "text"), ("year", "smallint")])
    amounts = [
        "wage",
        "operating",
        "property",
        "transfer",
        "medical_out_of_pocket",
        "education",
        "disaster_loss",
        "other_rigid",
    ]
    cols = ", ".join(amounts)
    snapshot = contract_sql.snapshot_object(EconomicsSnapshot, "up")
    await _run(
        session,
        f"""
        WITH src AS (
            SELECT s.*, h.id AS household_id, h.region_code,
                   s.wage + s.operating + s.property + s.transfer AS net,
                   s.medical_out_of_pocket + s.education + s.disaster_loss + s.other_rigid
                       AS rigid,
                   (SELECT count(*) FROM registry.members m
                     WHERE m.household_id = h.id AND m.departed_on IS NULL) AS resident
              FROM import_stage s JOIN registry.households h USING (household_no)
             WHERE NOT s.bad
        ), up AS (
            INSERT INTO registry.household_economics AS e
                   (household_id, year, region_code, {cols}, net_income, rigid_expenses,
                    resident_members, per_capita_net_income, version, created_at, updated_at)
            SELECT household_id, year, region_code, {cols}, net, rigid, resident,
                   round((net - rigid) / resident, 2), 1, now(), now()
              FROM src
            ON CONFLICT (household_id, year) DO UPDATE
               SET {", ".join(f"{a} = excluded.{a}" for a in amounts)},
                   net_income = excluded.net_income, rigid_expenses = excluded.rigid_expenses,
                   resident_members = excluded.resident_members,
                   per_capita_net_income = excluded.per_capita_net_income,
                   region_code = excluded.region_code,
                   version = e.version + 1, updated_at = now()
             WHERE {_distinct("e", [*amounts, "resident_members", "region_code"])}
            RETURNING e.*, (xmax = 0) AS inserted
        ), log AS (
            INSERT INTO registry.change_log
                   (actor, actor_role, client_id, action, entity, entity_id, household_id,
                    region_code, op, data)
            SELECT :actor, :role, CAST(:client_id AS varchar), op, 'economics',
                   up.household_id::text || ':' || up.year, up.household_id, up.region_code, op,
                   {snapshot}
              FROM up, LATERAL (SELECT CASE WHEN up.inserted THEN 'create' ELSE 'update' END
                                       AS op) o
        )
        INSERT INTO import_changed
        SELECT h.household_no, up.year FROM up JOIN registry.households h ON h.id = up.household_id
        """,
        actor=principal.sub,
        role=principal.role.value,
        client_id=principal.client_id,
    )
    counts = (
        await _run(
            session,
            """
            SELECT count(*) AS rows, count(*) FILTER (WHERE s.bad) AS rejected,
                   count(*) FILTER (WHERE NOT s.bad AND c.household_no IS NOT NULL) AS accepted
              FROM import_stage s LEFT JOIN import_changed c USING (household_no, year)
            """,
        )
    ).one()
    return Outcome(
        rows=counts.rows,
        accepted=counts.accepted,
        rejected=counts.rejected,
        unchanged=counts.rows - counts.rejected - counts.accepted,
        rejections=await _rejections(session),
    )


class ImportRepository(RepositoryBase[ImportJob]):
    model = ImportJob

    async def content(self, import_id: UUID) -> bytes | None:
        row = await self.session.get(ImportFile, import_id)
        return row.content if row else None

    async def rejections(self, import_id: UUID, limit: int) -> list[ImportRejection]:
        stmt = (
            select(ImportRejection)
            .where(ImportRejection.import_id == import_id)
            .order_by(ImportRejection.row_no, ImportRejection.column)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    def rejections_query(self, import_id: UUID) -> Any:
        """Every rejected row of an import, for a page of the list or the report."""
        return select(ImportRejection).where(ImportRejection.import_id == import_id)

    async def all_rejections(self, import_id: UUID) -> list[ImportRejection]:
        stmt = self.rejections_query(import_id).order_by(
            ImportRejection.row_no, ImportRejection.column
        )
        return list((await self.session.execute(stmt)).scalars())

    async def count_code(self, import_id: UUID, code: str) -> int:
        """How many rejected rows have reasons of ``code`` (a stored message's code)."""
        stmt = select(func.count()).where(
            ImportRejection.import_id == import_id,
            ImportRejection.reason.regexp_match(f'^\\{{"code": ?"{code.replace(".", "[.]")}"'),
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def record_skipped(
        self, import_id: UUID, count: int, listed: list[dict[str, Any]]
    ) -> None:
        """The rows the reader set aside (the same on every run of the job)."""
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id)
            .values(skipped=count, skipped_rows=listed)
        )

    async def add_duplicate_warnings(
        self, import_id: UUID, warnings: list[dict[str, Any]], keep: int = 1000
    ) -> None:
        """Append a chunk's possible duplicates (疑似重复) to the import's, the first ``keep``."""
        if warnings:
            await self.session.execute(
                text(
                    "UPDATE registry.imports SET duplicate_warnings = "
                    "duplicate_warnings || CAST(:warnings AS jsonb) WHERE id = :id "
                    "AND jsonb_array_length(duplicate_warnings) < :keep"
                ),
                {"id": import_id, "warnings": json.dumps(warnings), "keep": keep},
            )

    async def add_counts(
        self,
        import_id: UUID,
        rows: int,
        accepted: int,
        rejected: int,
        unchanged: int,
        chunk: int | None = None,
    ) -> bool:
        """Add a chunk's counts; with ``chunk``, also record it as loaded (in the chunk's own
        transaction, so a resumed job skips exactly the chunks that committed)."""
        values: dict[str, Any] = {
            "rows_read": ImportJob.rows_read + rows,
            "accepted": ImportJob.accepted + accepted,
            "rejected": ImportJob.rejected + rejected,
            "unchanged": ImportJob.unchanged + unchanged,
            "heartbeat_at": func.now(),
        }
        stmt = update(ImportJob).where(ImportJob.id == import_id)
        if chunk is not None:
            values["chunks_done"] = func.array_append(ImportJob.chunks_done, chunk)
            # A second copy of the job (one taken for dead while it was only slow) loading the
            # same chunk finds it recorded once the first commits: it must not count it again.
            stmt = stmt.where(~ImportJob.chunks_done.contains([chunk]))
        result = await self.session.execute(stmt.values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(
        self, import_id: UUID, chunks_total: int | None = None, *, count_attempt: bool = False
    ) -> None:
        """The running job's lease: ``running`` with a fresh heartbeat."""
        values: dict[str, Any] = {"status": "running", "heartbeat_at": func.now()}
        if chunks_total is not None:
            values["chunks_total"] = chunks_total
        if count_attempt:
            values["attempts"] = ImportJob.attempts + 1
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(**values)
        )

    async def beat(self, import_id: UUID) -> None:
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(heartbeat_at=func.now())
        )

    async def hand_over(self, import_id: UUID, *, count_attempt: bool = False) -> None:
        """Back to ``queued`` for the next job to take (a continuation, or the sweeper's
        dispatch after the heartbeat stopped, which counts as an attempt)."""
        values: dict[str, Any] = {"status": "queued", "heartbeat_at": func.now()}
        if count_attempt:
            values["attempts"] = ImportJob.attempts + 1
        await self.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(**values)
        )

    async def stale(self, before: datetime) -> list[ImportJob]:
        """Queued or running imports without a heartbeat since ``before`` (another sweeper's
        rows are skipped)."""
        stmt = (
            select(ImportJob)
            .where(ImportJob.status.in_(("queued", "running")), ImportJob.heartbeat_at < before)
            .order_by(ImportJob.heartbeat_at)
            .limit(500)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def running_heartbeat(self) -> tuple[int, float | None]:
        """For the scrape: imports queued or running, and the seconds since the stalest of
        them last beat (a stuck import shows as a growing age)."""
        stmt = select(
            func.count(), func.extract("epoch", func.now() - func.min(ImportJob.heartbeat_at))
        ).where(ImportJob.status.in_(("queued", "running")))
        count, age = (await self.session.execute(stmt)).one()
        return int(count), None if age is None else float(age)

    def list_query(self, prefix: str) -> Any:
        return select(ImportJob).where(ImportJob.region_code.startswith(prefix, autoescape=True))

    async def staged_rejections(self) -> list[Any]:
        """The pipeline's rejections of this batch, one per row and column, as
        ``save_staged_rejections`` keeps them (a dry run shows what a real import stores)."""
        result = await self.session.execute(
            text(
                """
                SELECT row_no, left(col, 50) AS "column", left(min(reason), 500) AS reason
                  FROM import_rejects GROUP BY row_no, left(col, 50) ORDER BY 1, 2
                """
            )
        )
        return list(result)

    async def save_staged_rejections(self, import_id: UUID, region_code: str) -> None:
        """Copy the pipeline's rejections of this batch (set-based, from its temp table)."""
        await self.session.execute(
            text(
                """
                INSERT INTO registry.import_rejections (import_id, row_no, "column", region_code,
                                                        reason)
                SELECT :id, row_no, left(col, 50), :region, left(min(reason), 500)
                  FROM import_rejects GROUP BY row_no, left(col, 50)
                ON CONFLICT DO NOTHING
                """
            ),
            {"id": import_id, "region": region_code},
        )

    async def finish(self, import_id: UUID, status: str, error: str | None = None) -> None:
        await self.session.execute(
            update(ImportJob)
            .where(ImportJob.id == import_id)
            .values(status=status, error=error, finished_at=func.now())
        )
