"""Every query of the duplicate review: the members a scan reads (COPY into Arrow), the pairs
it writes (one set-based upsert), the review's reads and the candidates of the check at entry."""

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Select, and_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.database import change_log
from services.registry.duplicates import matcher
from services.registry.duplicates.models import DuplicatePair, DuplicateScan
from services.registry.households.models import Member
from shared.auth import Principal
from shared.i18n import t
from shared.repository import RepositoryBase

# The matcher's columns (``matcher.SCHEMA``) of the resident members under a region prefix.
_MEMBERS = """
SELECT m.id, m.household_id, m.region_code, m.name, m.id_number, m.sex, m.birth_date,
       h.phone, m.relation
  FROM registry.members m JOIN registry.households h ON h.id = m.household_id
 WHERE m.region_code LIKE $1 AND m.departed_on IS NULL"""

# The scan's pairs in, one statement: a pair already decided keeps its decision (a dismissed
# pair is never proposed again); an open one takes the new scores.
_UPSERT = text("""
INSERT INTO registry.duplicate_pairs AS p (id, member_a, member_b, household_a, household_b,
       region_code, other_region_code, probability, weight, fields, status, scan_id, version)
SELECT gen_random_uuid(), a.id, b.id, a.household_id, b.household_id, a.region_code,
       b.region_code, s.probability, s.weight, s.fields, 'open', :scan_id, 1
  FROM unnest(CAST(:member_a AS uuid[]), CAST(:member_b AS uuid[]),
              CAST(:probability AS float8[]), CAST(:weight AS float8[]),
              CAST(:fields AS jsonb[])) AS s(member_a, member_b, probability, weight, fields)
  JOIN registry.members a ON a.id = s.member_a
  JOIN registry.members b ON b.id = s.member_b
    ON CONFLICT (member_a, member_b) DO UPDATE
   SET probability = EXCLUDED.probability, weight = EXCLUDED.weight,
       fields = EXCLUDED.fields, scan_id = EXCLUDED.scan_id, version = p.version + 1,
       updated_at = now()
 WHERE p.status = 'open'
""")


class ScanRepository(RepositoryBase[DuplicateScan]):
    model = DuplicateScan
    not_found = t("duplicate scan not found", "duplicate_scan.not_found")

    async def set_state(self, scan_id: UUID, **values: Any) -> None:
        await self.session.execute(
            update(DuplicateScan).where(DuplicateScan.id == scan_id).values(**values)
        )

    async def read_members(self, prefix: str) -> pa.Table:
        """The region's resident members as Arrow columns: ``COPY ... TO STDOUT`` (CSV) read
        by Arrow's CSV reader, no Python object per member."""
        buffer = io.BytesIO()
        raw = await (await self.session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection

        async def sink(chunk: bytes) -> None:
            buffer.write(chunk)

        await driver.copy_from_query(_MEMBERS, prefix + "%", output=sink, format="csv")
        if buffer.tell() == 0:
            return matcher.empty()
        buffer.seek(0)
        names = matcher.SCHEMA.names
        return pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=names),
            convert_options=pacsv.ConvertOptions(
                column_types=matcher.SCHEMA, strings_can_be_null=True
            ),
        )

    async def save_pairs(self, scan_id: UUID, pairs: Mapping[str, Sequence[Any]]) -> int:
        """Upsert the scan's pairs; how many it proposed (new or still open)."""
        if not pairs["member_a"]:
            return 0
        result = await self.session.execute(_UPSERT, {"scan_id": scan_id, **pairs})
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _visible(principal: Principal) -> Any:
    prefix = principal.region_prefix + "%"
    return and_(
        DuplicatePair.region_code.like(prefix), DuplicatePair.other_region_code.like(prefix)
    )


class PairRepository(RepositoryBase[DuplicatePair]):
    model = DuplicatePair
    trail = change_log
    entity = "duplicate_pair"
    not_found = t("duplicate pair not found", "duplicate_pair.not_found")

    def visible_to(self, principal: Principal, obj: DuplicatePair) -> bool:
        return principal.covers(obj.region_code) and principal.covers(obj.other_region_code)

    def listing(self, principal: Principal, prefix: str, status: str) -> Select[Any]:
        """Pairs whose both members are inside ``prefix`` (and the caller's region); open
        pairs only while both members are still resident."""
        a, b = Member.__table__.alias("a"), Member.__table__.alias("b")
        stmt = select(DuplicatePair).where(
            _visible(principal),
            DuplicatePair.region_code.like(prefix + "%"),
            DuplicatePair.other_region_code.like(prefix + "%"),
            DuplicatePair.status == status,
        )
        if status == "open":
            stmt = (
                stmt.join(a, a.c.id == DuplicatePair.member_a)
                .join(b, b.c.id == DuplicatePair.member_b)
                .where(a.c.departed_on.is_(None), b.c.departed_on.is_(None))
            )
        return stmt

    async def members(self, ids: Sequence[UUID]) -> dict[UUID, Member]:
        rows = await self.session.execute(select(Member).where(Member.id.in_(list(ids))))
        return {m.id: m for m in rows.scalars()}

    async def decide(
        self, pair: DuplicatePair, status: str, by: str, at: datetime, kept: UUID | None
    ) -> None:
        pair.status, pair.decided_by, pair.decided_at = status, by, at
        pair.kept_member_id = kept
        await self.session.flush()


# The check at entry for a batch (sync, an import's chunk): the members holding these ID
# numbers, and each one's candidates, in one statement (each OR arm one index's scan). The arms
# are the scan's blocking rules (``model.json``) with characters for sounds, as the database
# holds no pinyin: born the same day with the same surname; the same name and an ID number
# sharing its first ten or its characters 13-17. Without the name an arm is a whole county's
# birth year: 50,000 ledger rows met 190 million candidate pairs at province scale and the
# import's worker ran out of memory. Each arm has an index on all its columns: by the name
# alone, a common name is thousands of rows to read for every new member. A homophone
# surname with a mistyped ID number is left to the scan, which compares sounds.
_BATCH = text("""
SELECT n.id AS new_id, c.id, c.household_id, c.region_code, c.name, c.id_number, c.sex,
       c.birth_date, ch.phone, c.relation
  FROM registry.members n
  JOIN registry.members c
    ON c.departed_on IS NULL AND c.id <> n.id
   AND ((c.birth_date = n.birth_date AND left(c.name, 1) = left(n.name, 1))
        OR (c.name = n.name AND left(c.id_number, 10) = left(n.id_number, 10))
        OR (c.name = n.name AND substr(c.id_number, 13, 5) = substr(n.id_number, 13, 5)))
  JOIN registry.households ch ON ch.id = c.household_id
 WHERE n.id_number = ANY(CAST(:numbers AS text[]))
   AND c.id_number <> ALL(CAST(:numbers AS text[]))
""")
_NEW = text("""
SELECT m.id, m.household_id, m.region_code, m.name, m.id_number, m.sex, m.birth_date,
       h.phone, m.relation
  FROM registry.members m JOIN registry.households h ON h.id = m.household_id
 WHERE m.id_number = ANY(CAST(:numbers AS text[]))
""")


def _table(rows: Sequence[Sequence[Any]]) -> pa.Table:
    columns: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in matcher.SCHEMA.names]
    )
    return pa.table(
        {
            name: pa.array(
                [str(v) if v is not None and name.endswith("_id") else v for v in values],
                matcher.SCHEMA.field(name).type,
            )
            for name, values in zip(matcher.SCHEMA.names, columns, strict=True)
        }
    )


async def batch_candidates(
    session: AsyncSession, id_numbers: Sequence[str]
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``(new, candidates, pairs)``: the members holding ``id_numbers``, the resident members
    each may be (outside the batch), and the pairs to score (``member_l``, ``member_r``)."""
    numbers = list(id_numbers)
    new = (await session.execute(_NEW, {"numbers": numbers})).all()
    found = (await session.execute(_BATCH, {"numbers": numbers})).all()
    unique = list({row[1]: row[1:] for row in found}.values())
    pairs = pa.table(
        {
            "member_l": pa.array([str(r[0]) for r in found], pa.string()),
            "member_r": pa.array([str(r[1]) for r in found], pa.string()),
        }
    )
    return _table(new), _table(unique), pairs
