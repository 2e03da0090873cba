"""Ledger imports: valid households land, bad rows are reported by row, column and reason,
a household with a bad row is rejected whole, and the same file twice changes nothing."""

import gc
import io
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from povguard import demo
from services.registry.households.models import Member
from services.registry.households.service import member_snapshot
from services.registry.imports.jobs import ImportStopped, import_ledger
from services.registry.imports.template import HOUSEHOLD_COLUMNS, ImportKind
from shared import clock, idnumber
from shared.auth import Role
from shared.gc_pause import gc_paused
from tests.conftest import PUAN_VILLAGE, VILLAGE_A, VILLAGE_B, XINGYI, XINGYI_TOWNSHIP

HEADERS = [c.header for c in HOUSEHOLD_COLUMNS]


def member(
    household_no: str,
    number: str,
    relation: str = "户主",
    region: str = VILLAGE_A,
    name: str = "王小明",
) -> list[Any]:
    """A member's row of cells: text, as a village types it (tests put numbers and dates in
    some)."""
    facts = idnumber.parse(number[:17] + idnumber.check_character(number[:17]))
    return [
        household_no,
        region,
        "第1组",
        "脱贫户",
        "因病、缺技术",
        "否",
        "13800000000",
        name,
        number,
        relation,
        "男" if facts.sex == "male" else "女",
        facts.birth_date.isoformat(),
        "布依族",
        "初中",
        "非在校生",
        "健康",
        "无",
        "普通劳动力",
        "6",
        "是",
        "是",
        "否",
        "否",
    ]


def ids(n: int, area: str = "522301") -> list[str]:
    return [idnumber.make(area, date(1970 + i, 3, 1), 11 + 2 * i) for i in range(n)]


def csv_bytes(
    rows: list[list[str]], headers: list[str] = HEADERS, encoding: str = "utf-8"
) -> bytes:
    return (
        demo.to_csv(ImportKind.households, rows)
        .decode()
        .replace(
            ",".join(HOUSEHOLD_COLUMNS[i].header for i in range(len(HEADERS))), ",".join(headers), 1
        )
        .encode(encoding)
    )


async def run(
    registry,
    job_ctx,
    content: bytes,
    filename: str = "ledger.csv",
    kind: str = "households",
    role=Role.county_officer,
    region=XINGYI,
):
    client = registry.as_(role, region)
    response = await client.post(
        "/v1/imports", files={"file": (filename, content)}, data={"kind": kind}
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    await import_ledger(job_ctx, import_id)
    result = await client.get(f"/v1/imports/{import_id}")
    assert result.status_code == 200
    return result.json()


def reasons(result: dict) -> dict[tuple[int, str], str]:
    return {(r["row_no"], r["column"]): r["reason"] for r in result["rejected_rows"]}


async def count(session, table: str) -> int:
    return (await session.execute(text(f"SELECT count(*) FROM registry.{table}"))).scalar_one()


async def test_valid_rows_land_and_the_same_file_again_is_unchanged(
    registry, job_ctx, villages, session
) -> None:
    a, b, c = ids(3)
    rows = [member("H1", a), member("H1", b, "配偶"), member("H2", c, region=VILLAGE_B)]
    first = await run(registry, job_ctx, csv_bytes(rows))
    assert first["status"] == "done"
    assert (first["rows_read"], first["accepted"], first["rejected"], first["unchanged"]) == (
        3,
        3,
        0,
        0,
    )
    assert await count(session, "households") == 2
    assert await count(session, "members") == 3
    events_before = await count(session, "change_log WHERE op IS NOT NULL")
    assert events_before == 5
    again = await run(registry, job_ctx, csv_bytes(rows))
    assert (again["accepted"], again["unchanged"]) == (0, 3)
    assert await count(session, "change_log WHERE op IS NOT NULL") == events_before
    # A changed cell updates just that member.
    rows[1][15] = "长期慢性病"
    third = await run(registry, job_ctx, csv_bytes(rows))
    assert (third["accepted"], third["unchanged"]) == (1, 2)
    health = (
        await session.execute(
            text("SELECT health FROM registry.members WHERE id_number = :n"), {"n": b}
        )
    ).scalar_one()
    assert health == "chronic"
    # Its one change-log entry carries the same snapshot the household API writes.
    event, audit_old, audit_new = (
        await session.execute(
            text(
                "SELECT data, old, new FROM registry.change_log "
                "WHERE entity = 'member' AND op = 'update' AND data->>'id_number' = :n"
            ),
            {"n": b},
        )
    ).one()
    stored = (await session.execute(select(Member).where(Member.id_number == b))).scalar_one()
    assert audit_new is None  # the audit view's new values are the snapshot itself
    audit_new = event
    assert event == member_snapshot(stored).model_dump(mode="json")
    assert (audit_old["health"], audit_new["health"]) == ("healthy", "chronic")


async def test_bad_rows_are_reported_and_their_households_rejected_whole(
    registry, job_ctx, villages, session
) -> None:
    good = ids(12)
    bad_checksum = good[1][:-1] + ("0" if good[1][-1] != "0" else "1")
    rows = [
        member("OK", good[0]),  # row 2: lands
        member("CHK", good[2]),  # row 3
        member("CHK", bad_checksum, "配偶"),  # row 4: wrong check character
        member("DUP1", good[3]),  # row 5
        member("DUP2", good[3]),  # row 6: the same ID twice in the file
        member("UNK", good[4], region="522301100999"),  # row 7: unknown village
        member("CTY", good[5], region=XINGYI),  # row 8: a county code as village
        member("TWN", good[6], region=XINGYI_TOWNSHIP),  # row 9: a township
        member("OUT", good[7], region=PUAN_VILLAGE),  # row 10: outside a Xingyi officer's scope
        member("NOHEAD", good[8], "子女"),  # row 11: no head
        member("TWOHEADS", good[9]),  # row 12
        member("TWOHEADS", good[10]),  # row 13: a second head
    ]
    result = await run(registry, job_ctx, csv_bytes(rows))
    assert result["status"] == "done"
    assert (result["rows_read"], result["accepted"], result["rejected"]) == (12, 1, 11)
    why = reasons(result)
    assert "check character" in why[(4, "证件号码")]
    assert why[(3, "户编号")].startswith("household CHK is rejected whole")
    assert "more than once in the file" in why[(5, "证件号码")]
    assert "more than once in the file" in why[(6, "证件号码")]
    assert why[(7, "行政区划代码")] == "unknown region code 522301100999"
    assert why[(8, "行政区划代码")] == f"{XINGYI} is a county, not a village"
    assert why[(9, "行政区划代码")] == f"{XINGYI_TOWNSHIP} is a township, not a village"
    assert why[(10, "行政区划代码")] == f"{PUAN_VILLAGE} is outside your region"
    assert "0 heads" in why[(11, "与户主关系")]
    assert "2 heads" in why[(12, "与户主关系")]
    assert await count(session, "households") == 1
    assert await count(session, "members") == 1


async def test_an_id_already_registered_elsewhere_is_rejected_and_old_data_stays(
    registry, job_ctx, villages, session
) -> None:
    a, b = ids(2)
    await run(registry, job_ctx, csv_bytes([member("H1", a)]))
    result = await run(registry, job_ctx, csv_bytes([member("H9", b), member("H9", a, "配偶")]))
    assert result["rejected"] == 2
    assert reasons(result)[(3, "证件号码")] == "the ID number is already registered in household H1"
    assert await count(session, "households") == 1


async def test_field_rules_sex_birth_and_enums(registry, job_ctx, villages) -> None:
    a, b, c = ids(3)
    wrong_sex = member("S", a)
    wrong_sex[10] = "女"
    wrong_birth = member("B", b)
    wrong_birth[11] = "1999-01-01"
    wrong_enum = member("E", c)
    wrong_enum[3] = "贫困户"
    wrong_enum[18] = "13"
    result = await run(registry, job_ctx, csv_bytes([wrong_sex, wrong_birth, wrong_enum]))
    why = reasons(result)
    assert why[(2, "性别")] == "does not agree with the ID number"
    assert why[(3, "出生日期")] == "does not agree with the ID number"
    assert "not one of 脱贫户/监测户/一般农户" in why[(4, "户类型")]
    assert "0 to 12" in why[(4, "务工时间(月)")]


async def test_gbk_csv_and_bracketed_headers_are_accepted(registry, job_ctx, villages) -> None:
    (a,) = ids(1)
    headers = [h if h != "户类型" else "户类型(脱贫户/监测户/一般农户)" for h in HEADERS]
    result = await run(registry, job_ctx, csv_bytes([member("G1", a)], headers, "gbk"))
    assert (result["status"], result["accepted"]) == ("done", 1)


async def test_utf16_csv_is_read_and_nul_bytes_fail_the_file_clearly(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    # Excel's "Unicode text" export: UTF-16 with a byte-order mark.
    utf16 = csv_bytes([member("U1", a)]).decode().encode("utf-16")
    assert (await run(registry, job_ctx, utf16))["accepted"] == 1
    # A NUL inside a cell would fail COPY halfway; the file is refused up front instead.
    (b,) = ids(1, area="522323")
    row = member("U2", b, region=PUAN_VILLAGE)
    row[2] = "一组\x00"
    result = await run(registry, job_ctx, csv_bytes([row]), region=XINGYI)
    assert result["status"] == "failed"
    assert "NUL" in result["error"]
    assert await count(session, "households") == 1


def xlsx_bytes(headers: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_xlsx_loads_and_missing_headers_fail_the_whole_import(
    registry, job_ctx, villages, session
) -> None:
    a, b = ids(2)
    ok = await run(registry, job_ctx, xlsx_bytes(HEADERS, [member("X1", a)]), "ledger.xlsx")
    assert (ok["status"], ok["accepted"]) == ("done", 1)
    cut = [h for h in HEADERS if h not in ("证件号码", "户类型")]
    rows = [[v for h, v in zip(HEADERS, member("X2", b), strict=True) if h in cut]]
    failed = await run(registry, job_ctx, xlsx_bytes(cut, rows), "ledger.xlsx")
    assert failed["status"] == "failed"
    assert failed["error"].startswith("the file lacks the required headers: 户类型, 证件号码")
    assert "(headers found: 户编号, 行政区划代码, 家庭住址" in failed["error"]
    assert failed["rows_read"] == 0
    assert await count(session, "households") == 1


async def test_truncated_files_fail_clearly_and_write_nothing(
    registry, job_ctx, villages, session
) -> None:
    a, b = ids(2)
    book = xlsx_bytes(HEADERS, [member("T1", a), member("T2", b)])
    failed = await run(registry, job_ctx, book[: len(book) // 2], "ledger.xlsx")
    assert failed["status"] == "failed"
    assert "truncated or damaged" in failed["error"]
    content = csv_bytes([member("T1", a), member("T2", b)])
    failed = await run(registry, job_ctx, content[:-60])
    assert failed["status"] == "failed"
    assert "truncated" in failed["error"]
    assert await count(session, "households") == 0
    assert zipfile.is_zipfile(io.BytesIO(book))


async def test_economics_rows_compute_per_capita_and_reject_bad_values(
    registry, job_ctx, villages, session
) -> None:
    a, b = ids(2)
    await run(registry, job_ctx, csv_bytes([member("E1", a), member("E1", b, "配偶")]))
    content = demo.to_csv(
        ImportKind.economics,
        [
            ["E1", "2024", "10000.50", "2000", "0", "1000", "3000", "0", "0", "0.01"],
            ["E1", "2023", "-5", "0", "0", "0", "0", "0", "0", "0"],
            ["E1", str(clock.today().year + 1), "1", "0", "0", "0", "0", "0", "0", "0"],
            ["NOPE", "2024", "1", "0", "0", "0", "0", "0", "0", "0"],
            # Cells that once failed the whole import instead of their row.
            ["E1", "2022", "1e30", "0", "0", "0", "0", "0", "0", "0"],
            ["E1", "²⁰²²", "1", "0", "0", "0", "0", "0", "0", "0"],
            # Before the register began: the API refuses the year too.
            ["E1", "2005", "1", "0", "0", "0", "0", "0", "0", "0"],
        ],
    )
    result = await run(registry, job_ctx, content, kind="economics")
    assert result["status"] == "done"
    assert (result["accepted"], result["rejected"]) == (1, 6)
    why = reasons(result)
    assert why[(3, "工资性收入")] == "may not be negative"
    assert "not in the future" in why[(4, "年度")]
    assert why[(5, "户编号")] == "no household NOPE in your region"
    assert why[(6, "工资性收入")] == "amount is too large"
    assert why[(7, "年度")] == "must be a year such as 2025"
    assert why[(8, "年度")].startswith("must be from 2014")
    row = (
        await session.execute(
            text(
                "SELECT net_income, rigid_expenses, resident_members, per_capita_net_income "
                "FROM registry.household_economics"
            )
        )
    ).one()
    # (13000.50 - 3000.01) / 2 = 5000.245, half-up to the fen
    assert [str(v) for v in row] == ["13000.50", "3000.01", "2", "5000.25"]
    again = await run(registry, job_ctx, content, kind="economics")
    assert (again["accepted"], again["unchanged"]) == (0, 1)


async def test_over_limit_upload_is_413(registry, settings) -> None:
    client = registry.as_(Role.county_officer, XINGYI)
    big = b"x" * (settings.max_upload_bytes + 1)
    response = await client.post(
        "/v1/imports", files={"file": ("big.csv", big)}, data={"kind": "households"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_upload_is_queued_for_the_worker_after_commit(registry, villages, queue) -> None:
    (a,) = ids(1)
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post(
        "/v1/imports",
        files={"file": ("q.csv", csv_bytes([member("Q1", a)]))},
        data={"kind": "households"},
    )
    import_id = response.json()["import_id"]
    assert await queue.exists(f"arq:job:import:{import_id}")
    status = (await client.get(f"/v1/imports/{import_id}")).json()["status"]
    assert status == "queued"


async def test_roles_scope_and_template(registry, job_ctx, villages) -> None:
    department = registry.as_(Role.department, "522301000000")
    response = await department.post(
        "/v1/imports", files={"file": ("a.csv", b"x")}, data={"kind": "households"}
    )
    assert response.status_code == 403
    (a,) = ids(1)
    result = await run(registry, job_ctx, csv_bytes([member("S1", a)]))
    puan = registry.as_(Role.county_officer, "522323000000")
    assert (await puan.get(f"/v1/imports/{result['id']}")).status_code == 404
    template = await puan.get("/v1/imports/template", params={"kind": "economics"})
    assert template.status_code == 200
    assert template.content.decode("utf-8-sig").strip().split(",")[:2] == ["户编号", "年度"]
    spec = (await puan.get("/openapi.json")).json()
    description = spec["paths"]["/v1/imports"]["post"]["description"]
    for column in HOUSEHOLD_COLUMNS:
        assert column.header in description


async def test_big_files_load_in_chunks_of_whole_households(
    registry, job_ctx, villages, session
) -> None:
    from services.registry.imports import jobs as import_jobs
    from services.registry.imports import service as import_service
    from shared.auth import Principal

    numbers = ids(7)
    rows = [
        member("C1", numbers[0]),
        member("C2", numbers[1]),
        member("C1", numbers[2], "配偶"),  # C1 stays whole though its rows are apart
        member("C3", numbers[3]),
        member("C4", numbers[4]),
        member("C5", numbers[5]),
        member("C6", numbers[1]),  # the ID of row 3, in another chunk
    ]
    officer = Principal(sub="officer", role=Role.county_officer, region_code=XINGYI)
    async with job_ctx["session_maker"]() as s, s.begin():
        job = await import_service.create_import(
            s, officer, ImportKind.households, "big.csv", csv_bytes(rows), enqueue=False
        )
    assert await import_jobs.run_import(job_ctx["session_maker"], job.id, chunk_rows=2) == "done"
    result = (await registry.as_(Role.county_officer, XINGYI).get(f"/v1/imports/{job.id}")).json()
    assert (result["rows_read"], result["accepted"], result["rejected"]) == (7, 5, 2)
    assert "more than once" in reasons(result)[(3, "证件号码")]
    assert "more than once" in reasons(result)[(8, "证件号码")]
    assert await count(session, "members") == 5


async def test_imported_households_read_back_through_the_household_api(
    registry, job_ctx, villages, session
) -> None:
    a, b, c, d = ids(4)
    rows = [
        member("R1", a),
        member("R1", b, "子女"),
        member("R1", c, "子女"),
        member("R1", d, "子女"),
    ]
    rows[1][14] = "七年级"
    rows[2][14] = "辍学"
    rows[3][14] = "补习班"
    result = await run(registry, job_ctx, csv_bytes(rows))
    assert "is not one of 非在校生/学前教育" in reasons(result)[(5, "在校生状况")]
    rows[3][14] = "普通高中二年级"
    result = await run(registry, job_ctx, csv_bytes(rows))
    assert result["accepted"] == 4
    household_id = (
        await session.execute(text("SELECT id FROM registry.households WHERE household_no = 'R1'"))
    ).scalar_one()
    officer = registry.as_(Role.county_officer, XINGYI)
    response = await officer.get(f"/v1/households/{household_id}")
    assert response.status_code == 200, response.text
    stages = {
        m["id_number"]: (m["in_school"], m["schooling_stage"]) for m in response.json()["members"]
    }
    assert stages == {
        a: (False, None),
        b: (True, "junior"),
        c: (False, "dropout"),
        d: (True, "senior"),
    }


async def test_an_import_never_changes_a_category_set_by_the_monitoring_procedure(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    rows = [member("M1", a)]
    assert (await run(registry, job_ctx, csv_bytes(rows)))["accepted"] == 1
    household_id = (
        await session.execute(text("SELECT id FROM registry.households WHERE household_no = 'M1'"))
    ).scalar_one()
    officer = registry.as_(Role.county_officer, XINGYI)
    marked = await officer.put(
        f"/v1/households/{household_id}/category",
        json={"category": "monitored", "reason": "因病返贫风险"},
    )
    assert marked.status_code == 200, marked.text
    stale = await run(registry, job_ctx, csv_bytes(rows))  # the old ledger still says 脱贫户
    assert stale["rejected"] == 1
    assert "is 监测户 in the registry" in reasons(stale)[(2, "户类型")]
    category = (
        await session.execute(
            text("SELECT category FROM registry.households WHERE id = :id"), {"id": household_id}
        )
    ).scalar_one()
    assert category == "monitored"
    rows[0][3] = "监测户"
    assert (await run(registry, job_ctx, csv_bytes(rows)))["unchanged"] == 1


async def test_only_the_county_imports_a_new_household_as_monitored_and_it_is_at_risk(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    rows = [member("NEWM", a)]
    rows[0][3] = "监测户"
    township = await run(
        registry, job_ctx, csv_bytes(rows), role=Role.township_officer, region=XINGYI_TOWNSHIP
    )
    assert reasons(township)[(2, "户类型")] == "only the county registers a household as 监测户"
    assert await count(session, "households") == 0
    county = await run(registry, job_ctx, csv_bytes(rows))
    assert county["accepted"] == 1
    flags = (await session.execute(text("SELECT category, at_risk FROM registry.households"))).one()
    assert tuple(flags) == ("monitored", True)


async def test_an_import_does_not_move_a_household_to_another_village(
    registry, job_ctx, villages, session
) -> None:
    a, b = ids(2)
    await run(registry, job_ctx, csv_bytes([member("MV1", a), member("MV1", b, "配偶")]))
    moved = await run(registry, job_ctx, csv_bytes([member("MV1", a, region=VILLAGE_B)]))
    assert moved["rejected"] == 1
    assert reasons(moved)[(2, "行政区划代码")] == (
        f"household MV1 is registered in village {VILLAGE_A}: "
        "an import does not move a household to another village"
    )
    # Household and both members stay in village A, where its cadre can still reach them.
    regions = (
        await session.execute(
            text(
                "SELECT DISTINCT region_code FROM registry.members "
                "UNION SELECT region_code FROM registry.households"
            )
        )
    ).scalars()
    assert list(regions) == [VILLAGE_A]


async def test_a_new_head_needs_the_old_head_in_the_file(registry, job_ctx, villages) -> None:
    a, b = ids(2)
    await run(registry, job_ctx, csv_bytes([member("N1", a), member("N1", b, "配偶")]))
    swapped = await run(registry, job_ctx, csv_bytes([member("N1", b)]))
    assert "has another head (户主) in the registry" in reasons(swapped)[(2, "与户主关系")]
    both = await run(
        registry, job_ctx, csv_bytes([member("N1", a, "配偶"), member("N1", b, "户主")])
    )
    assert (both["accepted"], both["rejected"]) == (2, 0)


async def test_a_lost_connection_is_retried_and_the_last_try_fails_the_import_with_the_reason(
    registry, job_ctx, villages, session, monkeypatch
) -> None:
    from arq import Retry

    from services.registry.imports import repository as import_repository

    async def connection_lost(*_: object, **__: object) -> None:
        raise ConnectionResetError("server closed the connection")

    monkeypatch.setattr(import_repository, "load_households", connection_lost)
    client = registry.as_(Role.county_officer, XINGYI)
    (a,) = ids(1)
    response = await client.post(
        "/v1/imports",
        files={"file": ("l.csv", csv_bytes([member("H1", a)]))},
        data={"kind": "households"},
    )
    import_id = response.json()["import_id"]

    with pytest.raises(Retry):  # ARQ runs it again later
        await import_ledger({**job_ctx, "job_try": 1}, import_id)
    assert (await client.get(f"/v1/imports/{import_id}")).json()["status"] != "failed"

    with pytest.raises(ImportStopped, match="ConnectionResetError"):  # the last try
        await import_ledger({**job_ctx, "job_try": 3}, import_id)
    result = (await client.get(f"/v1/imports/{import_id}")).json()
    assert result["status"] == "failed"
    assert "ConnectionResetError" in result["error"]
    assert await count(session, "households") == 0


async def test_a_50_mb_file_is_taken_and_judged_not_refused_at_the_door(
    registry, job_ctx, villages, session
) -> None:
    (a,) = ids(1)
    await run(registry, job_ctx, csv_bytes([member("KEEP", a)]))
    # 50 MB that is no ledger (a phone photo sent by mistake): under the upload limit, so it
    # is queued, read, and failed with the reason; what was stored before stays.
    junk = bytes(range(128, 256)) * (50 * 1024 * 1024 // 128)
    result = await run(registry, job_ctx, junk, filename="photo.csv")
    assert result["status"] == "failed"
    assert "neither UTF-8 nor GBK" in result["error"]
    assert await count(session, "households") == 1


async def test_imported_members_read_head_first_then_in_file_order(
    registry, job_ctx, villages, session
) -> None:
    a, b, c, d = ids(4)
    rows = [
        member("FO1", a, "子女", name="老大"),
        member("FO1", b, "子女", name="老二"),
        member("FO1", c, "户主", name="户主"),
        member("FO1", d, "子女", name="老三"),
    ]
    assert (await run(registry, job_ctx, csv_bytes(rows)))["accepted"] == 4
    household_id = (
        await session.execute(text("SELECT id FROM registry.households WHERE household_no = 'FO1'"))
    ).scalar_one()
    read = await registry.as_(Role.county_officer, XINGYI).get(f"/v1/households/{household_id}")
    assert [m["name"] for m in read.json()["members"]] == ["户主", "老大", "老二", "老三"]


def test_overlapping_imports_turn_garbage_collection_back_on_only_when_the_last_one_ends() -> None:
    assert gc.isenabled()
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other lane is still validating
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before the import, so left off
    finally:
        gc.enable()


async def test_a_region_code_in_full_width_digits_is_refused(
    registry, job_ctx, villages, session
) -> None:
    (number,) = ids(1)
    disguised = member("FW1", number, region=PUAN_VILLAGE[:-1] + "１")
    result = await run(registry, job_ctx, csv_bytes([disguised]))
    assert (result["accepted"], result["rejected"]) == (0, 1)
    assert reasons(result)[(2, "行政区划代码")] == "must be a 12-digit region code"
    assert await count(session, "households") == 0


async def test_a_failed_import_stores_and_logs_no_name_or_id_number(
    registry, job_ctx, villages, session, monkeypatch, caplog
) -> None:
    """A database error quotes the values it choked on; the import's ``error`` (shown to
    every reader of the import) and the logs keep the kind of failure, not the person."""
    from services.registry.imports import repository as import_repository

    (number,) = ids(1)

    async def choke(session, principal, records, errors, **_: object) -> None:
        await session.execute(
            text("SELECT CAST(CAST(:v AS text) AS date)"),
            {"v": f"{records[0][8]} {records[0][9]} Yang Xiuying"},
        )

    monkeypatch.setattr(import_repository, "load_households", choke)
    client = registry.as_(Role.county_officer, XINGYI)
    response = await client.post(
        "/v1/imports",
        files={"file": ("l.csv", csv_bytes([member("H1", number, name="杨秀英")]))},
        data={"kind": "households"},
    )
    import_id = response.json()["import_id"]
    with caplog.at_level("DEBUG"), pytest.raises(ImportStopped) as stopped:
        await import_ledger({**job_ctx, "job_try": 3}, import_id)
    # What ARQ logs and stores as the job's result is the same reason.
    assert "invalid input syntax for type date" in str(stopped.value)
    assert number not in str(stopped.value)
    result = await client.get(f"/v1/imports/{import_id}")
    assert result.json()["status"] == "failed"
    error = result.json()["error"]
    assert "invalid input syntax for type date" in error
    for personal in (number, "杨秀英", "Yang Xiuying"):
        assert personal not in error
        assert personal not in result.text
        assert personal not in caplog.text


async def test_long_imports_hand_on_in_chunks_and_count_what_earlier_jobs_loaded(
    registry, job_ctx, villages, session
) -> None:
    from services.registry.imports import jobs as import_jobs
    from services.registry.imports import service as import_service
    from shared.auth import Principal

    numbers = ids(5)
    rows = [member(f"H{i}", numbers[i]) for i in range(5)]
    officer = Principal(sub="officer", role=Role.county_officer, region_code=XINGYI)
    async with job_ctx["session_maker"]() as s, s.begin():
        job = await import_service.create_import(
            s, officer, ImportKind.households, "long.csv", csv_bytes(rows), enqueue=False
        )
    client = registry.as_(Role.county_officer, XINGYI)
    # Out of time after each chunk: the job hands the rest to a new job, in its outbox.
    run = import_jobs.run_import
    assert await run(job_ctx["session_maker"], job.id, chunk_rows=2, budget_s=0) == "continued"
    progress = (await client.get("/v1/imports")).json()["items"][0]
    assert (progress["status"], progress["chunks_done"], progress["chunks_total"]) == (
        "queued",
        1,
        3,
    )
    assert progress["accepted"] == 2
    handed_on = (
        await session.execute(
            text("SELECT job_id FROM registry.job_outbox WHERE job_id LIKE :j"),
            {"j": f"import:{job.id}:%"},
        )
    ).scalars()
    assert list(handed_on) == [f"import:{job.id}:from-chunk-1"]
    assert await run(job_ctx["session_maker"], job.id, chunk_rows=2, budget_s=0) == "continued"
    assert await run(job_ctx["session_maker"], job.id, chunk_rows=2, budget_s=0) == "done"
    result = (await client.get(f"/v1/imports/{job.id}")).json()
    # Rows loaded by the earlier jobs count as accepted, not as unchanged.
    assert (result["rows_read"], result["accepted"], result["unchanged"]) == (5, 5, 0)
    assert await count(session, "members") == 5


async def test_the_import_list_shows_status_and_progress_newest_first_in_your_region(
    registry, job_ctx, villages, session
) -> None:
    xingyi = registry.as_(Role.county_officer, XINGYI)
    made = []
    for i in range(3):
        response = await xingyi.post(
            "/v1/imports",
            files={"file": (f"f{i}.csv", csv_bytes([member(f"L{i}", ids(3)[i])]))},
            data={"kind": "households"},
        )
        made.append(response.json()["import_id"])
    puan = registry.as_(Role.county_officer, "522323000000")
    other = await puan.post(
        "/v1/imports",
        files={
            "file": ("p.csv", csv_bytes([member("P1", ids(1, "522323")[0], region=PUAN_VILLAGE)]))
        },
        data={"kind": "households"},
    )
    for i, import_id in enumerate(made):  # one transaction: give them distinct times
        await session.execute(
            text(
                "UPDATE registry.imports SET created_at = now() + make_interval(secs => :s) WHERE id = :i"
            ),
            {"s": i, "i": import_id},
        )
    await session.commit()
    await import_ledger(job_ctx, made[0])

    first = await xingyi.get("/v1/imports", params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["id"] for i in page["items"]] == [made[2], made[1]]
    assert page["items"][0]["status"] == "queued"
    assert page["items"][0]["chunks_done"] == 0
    rest = (
        await xingyi.get("/v1/imports", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    assert [i["id"] for i in rest["items"]] == [made[0]]
    assert rest["next_cursor"] is None
    done = rest["items"][0]
    assert (done["status"], done["accepted"], done["chunks_done"], done["chunks_total"]) == (
        "done",
        1,
        1,
        1,
    )
    assert other.json()["import_id"] not in {i["id"] for i in page["items"] + rest["items"]}
    # The province sees both counties; a county asking for another's is 404; departments 403.
    province = registry.as_(Role.province_admin, "520000000000")
    assert len((await province.get("/v1/imports")).json()["items"]) == 4
    assert (await xingyi.get("/v1/imports", params={"region": "522323000000"})).status_code == 404
    department = registry.as_(Role.department, "522301000000")
    assert (await department.get("/v1/imports")).status_code == 403


async def test_a_chunk_another_copy_of_the_job_committed_first_is_not_counted_twice(
    registry, job_ctx, villages, session, monkeypatch
) -> None:
    from services.registry.imports import jobs as import_jobs
    from services.registry.imports import service as import_service
    from shared.auth import Principal

    numbers = ids(4)
    rows = [member(f"T{i}", numbers[i]) for i in range(4)]
    officer = Principal(sub="officer", role=Role.county_officer, region_code=XINGYI)
    async with job_ctx["session_maker"]() as s, s.begin():
        job = await import_service.create_import(
            s, officer, ImportKind.households, "twice.csv", csv_bytes(rows), enqueue=False
        )
    from services.registry.imports.repository import ImportRepository

    real_claim = ImportRepository.claim

    async def claim_then_another_copy_commits(self, import_id, chunks_total=None, **kw):
        await real_claim(self, import_id, chunks_total, **kw)
        if chunks_total is not None:  # this run has read which chunks are done: now a copy
            # of the job thought dead (only slow) commits chunk 0, 2 rows, first
            await self.session.execute(
                text(
                    "UPDATE registry.imports SET chunks_done = '{0}', rows_read = 2, "
                    "accepted = 2 WHERE id = :i"
                ),
                {"i": import_id},
            )

    monkeypatch.setattr(ImportRepository, "claim", claim_then_another_copy_commits)
    assert await import_jobs.run_import(job_ctx["session_maker"], job.id, chunk_rows=2) == "done"
    result = (await registry.as_(Role.county_officer, XINGYI).get(f"/v1/imports/{job.id}")).json()
    assert (result["rows_read"], result["accepted"], result["chunks_done"]) == (4, 4, 2)
