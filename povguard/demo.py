"""Demo data: synthetic townships and villages under Qianxinan's real counties, and households
with valid ID numbers, loaded through the ledger import pipeline (so the change feed, audit
log and counts are exactly what a real import would leave). Idempotent: a second run finds
every row unchanged.

``ledger_rows`` / ``economics_rows`` generate ledger rows (Chinese headers and wording); the
benchmarks reuse them."""

import csv
import io
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.registry.imports.template import (
    CATEGORY_LABELS,
    DISABILITY_LABELS,
    ECONOMICS_COLUMNS,
    HEALTH_LABELS,
    HOUSEHOLD_COLUMNS,
    LABOUR_LABELS,
    NOT_IN_SCHOOL,
    RELATION_LABELS,
    ImportKind,
)
from shared import idnumber
from shared.settings import GUIZHOU

PROVINCE = GUIZHOU  # the demo data are real Guizhou counties

QIANXINAN_COUNTIES = {
    "522301": "兴义市",
    "522302": "兴仁市",
    "522323": "普安县",
    "522324": "晴隆县",
    "522325": "贞丰县",
    "522326": "望谟县",
    "522327": "册亨县",
    "522328": "安龙县",
}
_TOWN_NAMES = ["清水", "红岩", "石桥", "龙场", "新寨", "坪上", "河口", "马岭", "白沙", "桃园"]
_VILLAGE_NAMES = ["大寨", "小河", "高坡", "田坝", "岩脚", "新田", "松林", "水井", "坡头", "竹园"]
CAUSES = [
    "因病",
    "因残",
    "因学",
    "因灾",
    "缺土地",
    "缺水",
    "缺技术",
    "缺劳力",
    "缺资金",
    "交通条件落后",
]
EDUCATION = ["文盲或半文盲", "小学", "初中", "高中", "大专及以上"]


def demo_regions(
    townships_per_county: int = 2, villages_per_township: int = 3
) -> list[tuple[str, str, str, str]]:
    """(code, name, parent_code, level) of the synthetic townships and villages."""
    out = []
    for c, county in enumerate(QIANXINAN_COUNTIES):
        for t in range(townships_per_county):
            town = f"{county}{100 + t:03d}000"
            town_name = _TOWN_NAMES[(c + t) % len(_TOWN_NAMES)] + "镇"
            out.append((town, town_name, f"{county}000000", "township"))
            for v in range(villages_per_township):
                name = _VILLAGE_NAMES[(c * 3 + t * 2 + v) % len(_VILLAGE_NAMES)] + "村"
                out.append((f"{town[:9]}{v + 1:03d}", name, town, "village"))
    return out


def demo_villages() -> list[str]:
    return [code for code, _, _, level in demo_regions() if level == "village"]


class _Names:
    def __init__(self, rng: random.Random) -> None:
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(rng.randrange(1 << 30))
        self.rng = rng
        self.last = [fake.last_name() for _ in range(200)]
        self.male = [fake.first_name_male() for _ in range(300)]
        self.female = [fake.first_name_female() for _ in range(300)]

    def name(self, sex: str, last: str | None = None) -> str:
        first = self.rng.choice(self.male if sex == "male" else self.female)
        return (last or self.rng.choice(self.last)) + first


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def ledger_rows(
    villages: Sequence[str], households: int, *, seed: int = 2025, today: date | None = None
) -> list[list[str]]:
    """Member rows of ``households`` households (about 3.5 members each), spread over
    ``villages``, in the households template's column order. Deterministic for a seed."""
    rng = random.Random(seed)
    names = _Names(rng)
    today = today or date(2025, 12, 31)
    used: set[str] = set()
    rows: list[list[str]] = []

    def person(area: str, age: int, sex: str) -> tuple[str, date]:
        born = today - timedelta(days=age * 365 + rng.randrange(365))
        seq = rng.randrange(500) * 2 + (1 if sex == "male" else 0)
        while True:
            number = idnumber.make(area, born, seq)
            if number not in used:
                used.add(number)
                return number, born
            seq = (seq + 2) % 1000
            if seq < 2:
                born -= timedelta(days=1)

    for i in range(households):
        village = villages[i % len(villages)]
        household_no = f"{village}{i // len(villages) + 1:05d}"
        category = rng.choices(["poverty_alleviated", "monitored", "ordinary"], [70, 8, 22])[0]
        causes = (
            "、".join(rng.sample(CAUSES, rng.choice([1, 1, 2]))) if category != "ordinary" else ""
        )
        relocated = rng.random() < 0.12
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        address = f"第{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
        size = rng.choices([1, 2, 3, 4, 5, 6], [6, 14, 22, 30, 18, 10])[0]
        head_sex = "male" if rng.random() < 0.85 else "female"
        head_age = rng.randrange(28, 78)
        family = names.name(head_sex)[0]
        members = [("head", head_sex, head_age)]
        if size >= 2:
            members.append(
                (
                    "spouse",
                    "female" if head_sex == "male" else "male",
                    max(20, head_age + rng.randrange(-5, 4)),
                )
            )
        for _ in range(size - len(members)):
            if head_age > 60 and rng.random() < 0.5:
                members.append(("grandchild", rng.choice(["male", "female"]), rng.randrange(1, 17)))
            elif head_age < 50 and rng.random() < 0.25:
                members.append(
                    (
                        "parent",
                        rng.choice(["male", "female"]),
                        min(95, head_age + rng.randrange(22, 32)),
                    )
                )
            else:
                members.append(
                    (
                        "child",
                        rng.choice(["male", "female"]),
                        max(0, head_age - rng.randrange(20, 36)),
                    )
                )
        for relation, sex, age in members:
            number, born = person(village[:6], age, sex)
            last = family if relation in ("head", "child", "grandchild") else None
            roll = rng.random()
            health = (
                "serious" if roll < 0.05 else "chronic" if roll < 0.2 + age / 400 else "healthy"
            )
            disability = rng.choices([0, 1, 2, 3, 4], [92, 1, 2, 2, 3])[0]
            if 6 <= age <= 18:
                stage = (
                    "小学" if age <= 12 else "初中" if age <= 15 else rng.choice(["高中", "中职"])
                )
            elif 3 <= age <= 5:
                stage = "学前教育"
            elif 19 <= age <= 22 and rng.random() < 0.3:
                stage = "大学"
            else:
                stage = NOT_IN_SCHOOL
            if age < 16 or age > 70 or health == "serious" or disability in (1, 2):
                labour = "none"
            elif age > 60 or health == "chronic":
                labour = "weak"
            else:
                labour = rng.choices(["skilled", "ordinary"], [25, 75])[0]
            months = rng.choice([0, 3, 6, 8, 10, 12]) if labour in ("skilled", "ordinary") else 0
            edu = EDUCATION[min(4, max(0, (age - 6) // 4))] if age >= 7 else ""
            if age > 55:
                edu = rng.choice(EDUCATION[:3])
            rows.append(
                [
                    household_no,
                    village,
                    address,
                    CATEGORY_LABELS[category],
                    causes,
                    _yes(relocated),
                    phone,
                    names.name(sex, last),
                    number,
                    RELATION_LABELS[relation],
                    "男" if sex == "male" else "女",
                    born.isoformat(),
                    rng.choices(["汉族", "布依族", "苗族", "彝族"], [45, 35, 15, 5])[0],
                    edu,
                    stage,
                    HEALTH_LABELS[health],
                    DISABILITY_LABELS[disability],
                    LABOUR_LABELS[labour],
                    str(months),
                    _yes(rng.random() < 0.98),
                    _yes(age >= 16 and rng.random() < 0.85),
                    _yes(category != "ordinary" and rng.random() < 0.2),
                    _yes(size == 1 and age > 60 and rng.random() < 0.5),
                ]
            )
    return rows


def economics_rows(
    rows: Sequence[Sequence[str]], year: int, *, seed: int = 2025
) -> list[list[str]]:
    """One economics row per household of ``ledger_rows`` output."""
    rng = random.Random(seed + year)
    workers: dict[str, int] = {}
    months: dict[str, int] = {}
    for row in rows:
        workers[row[0]] = workers.get(row[0], 0) + (row[17] in ("技能劳动力", "普通劳动力"))
        months[row[0]] = months.get(row[0], 0) + int(row[18] or 0)
    out = []
    for household_no, n_workers in workers.items():
        wage = months[household_no] * rng.randrange(2200, 4200) + rng.randrange(0, 3000)
        operating = n_workers * rng.randrange(800, 6000)
        prop = rng.choice([0, 0, 0, 300, 800, 1500])
        transfer = rng.randrange(600, 6000)
        medical = rng.choices([0, 500, 3000, 12000, 40000], [50, 25, 15, 8, 2])[0]
        education = rng.choice([0, 0, 1000, 3000])
        disaster = rng.choices([0, 2000, 10000], [94, 5, 1])[0]
        other = rng.choice([0, 0, 500])
        out.append(
            [household_no, str(year)]
            + [
                f"{v}.{rng.randrange(100):02d}" if v else "0"
                for v in (wage, operating, prop, transfer)
            ]
            + [str(v) for v in (medical, education, disaster, other)]
        )
    return out


def to_csv(kind: ImportKind, rows: Sequence[Sequence[str]]) -> bytes:
    columns = HOUSEHOLD_COLUMNS if kind is ImportKind.households else ECONOMICS_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.header for c in columns])
    writer.writerows(rows)
    return out.getvalue().encode()


async def ensure_regions(session: Any) -> list[str]:
    from services.registry.regions.repository import RegionRepository

    regions = demo_regions()
    await RegionRepository(session).add_missing(regions)
    return [c for c, _, _, lvl in regions if lvl == "village"]


DEMO_MONITORING_LINE = Decimal("7000.00")
"""The demo year's monitoring line. Guizhou's real figure for a year is the province's to set;
this one sits between the 2021 national 6,000 and other provinces' 2025 lines (8,050-8,700),
so the demo economics put a visible share of households under it."""


async def ensure_demo_policy(session_maker: Any, loader: Any, year: int) -> dict[str, str]:
    """Set the province's monitoring policy for the demo year unless one is already set, so
    scans of the demo data run (a scan for a year without a policy is refused)."""
    from services.monitoring.policy import service as policy_service
    from services.monitoring.policy.repository import PolicyRepository
    from services.monitoring.policy.schemas import PolicyWrite

    async with session_maker() as session, session.begin():
        existing = await PolicyRepository(session).exact(PROVINCE, year)
        if existing is not None:
            return {"monitoring_line": str(existing.monitoring_line), "status": "kept"}
        body = PolicyWrite(monitoring_line=DEMO_MONITORING_LINE)
        await policy_service.put_policy(session, loader, year, PROVINCE, body)
    return {"monitoring_line": str(DEMO_MONITORING_LINE), "status": "set"}


async def load_with(
    session_maker: Any, households: int, year: int, console: Any = None
) -> dict[str, Any]:
    """Regions, households with members, and one year of economics, through the importer."""
    from services.registry.imports import jobs as import_jobs
    from services.registry.imports import service as import_service
    from shared.auth import Principal, Role

    loader = Principal(sub="demo-loader", role=Role.province_admin, region_code=PROVINCE)
    async with session_maker() as session, session.begin():
        villages = await ensure_regions(session)
    rows = ledger_rows(villages, households)
    results: dict[str, Any] = {}
    policy = await ensure_demo_policy(session_maker, loader, year)
    results["policy"] = policy
    if console is not None:
        console.print(
            f"demo policy {year}: monitoring line {policy['monitoring_line']} yuan per person "
            f"for Guizhou ({policy['status']}; a demo figure, not an official one: "
            f"set the real one with PUT /v1/policy/{year}?region={PROVINCE})"
        )
    for kind, content in (
        (ImportKind.households, to_csv(ImportKind.households, rows)),
        (ImportKind.economics, to_csv(ImportKind.economics, economics_rows(rows, year))),
    ):
        async with session_maker() as session, session.begin():
            job = await import_service.create_import(
                session, loader, kind, f"demo-{kind.value}.csv", content, enqueue=False
            )
        if console is None:
            await import_jobs.run_import(session_maker, job.id)
        else:
            await _run_with_progress(session_maker, job.id, content.count(b"\n") - 1, console)
        async with session_maker() as session:
            from services.registry.imports import messages as import_messages
            from services.registry.imports.repository import ImportRepository

            done = await ImportRepository(session).get(job.id)
            assert done is not None
            results[kind.value] = {
                "status": done.status,
                "rows": done.rows_read,
                "accepted": done.accepted,
                "unchanged": done.unchanged,
                "rejected": done.rejected,
                "error": import_messages.show(done.error, "en"),
            }
        if console is not None:
            r = results[kind.value]
            console.print(
                f"demo {kind.value}: {r['rows']} rows, {r['accepted']} loaded, "
                f"{r['unchanged']} unchanged, {r['rejected']} rejected"
            )
    return results


async def _run_with_progress(session_maker: Any, import_id: Any, rows: int, console: Any) -> None:
    """Run an import under a progress bar that advances as each chunk commits."""
    from services.registry.imports import jobs as import_jobs
    from shared.progress import progress

    with progress("importing the demo ledger", total=rows, unit="rows", console=console) as bar:
        await import_jobs.run_import(session_maker, import_id, on_progress=bar.advance)


async def load_if_empty(
    session_maker: Any, households: int, year: int, console: Any = None
) -> dict[str, Any] | None:
    """What ``povguard up --demo`` does: load the demo only into an empty registry, so a
    restart keeps what people changed in it (``povguard demo-data`` reloads on demand)."""
    from services.registry.households.repository import HouseholdRepository

    async with session_maker() as session:
        registered = await HouseholdRepository(session).count_all()
    if registered:
        if console is not None:
            console.print(f"demo data kept: the registry holds {registered} households")
        return None
    return await load_with(session_maker, households, year, console)


async def load(
    settings: Any, households: int, year: int, console: Any, *, only_if_empty: bool = False
) -> dict[str, Any] | None:
    from shared.db import create_engine, create_session_maker

    engine = create_engine(settings, "povguard-demo")
    try:
        loader = load_if_empty if only_if_empty else load_with
        return await loader(create_session_maker(engine), households, year, console)
    finally:
        await engine.dispose()
