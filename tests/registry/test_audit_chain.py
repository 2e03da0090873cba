"""The change log proves itself (migration 0041_chain): the chain verifies, then a superuser's
UPDATE or DELETE with the append-only triggers disabled breaks it at the right entry, and
``GET /v1/audit/verify`` is for province admins and auditors only."""

from typing import Any

from sqlalchemy import text

from shared.auth import Role
from shared.changelog import chain
from tests.conftest import VILLAGE_A
from tests.registry.helpers import household

PROVINCE = "520000000000"


async def _entries(session: Any) -> list[Any]:
    rows = await session.execute(
        text(
            "SELECT seq, position FROM registry.change_log "
            "WHERE position IS NOT NULL ORDER BY position"
        )
    )
    return list(rows)


async def _tamper(session: Any, statement: str, seq: int) -> None:
    """What a superuser can do: with the triggers off (inside the test's transaction, so the
    rollback restores them)."""
    await session.execute(text("ALTER TABLE registry.change_log DISABLE TRIGGER USER"))
    await session.execute(text(statement), {"seq": seq})
    await session.execute(text("ALTER TABLE registry.change_log ENABLE TRIGGER USER"))


async def test_the_chain_verifies_then_names_the_changed_entry(registry, villages, session):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    for number in ("C1", "C2"):
        assert (await cadre.post("/v1/households", json=household(VILLAGE_A, number))).is_success
    auditor = registry.as_(Role.auditor, PROVINCE)
    answer = (await auditor.get("/v1/audit/verify")).json()
    entries = await _entries(session)
    assert answer["ok"] is True
    assert answer["first_bad"] is None
    assert answer["entries"] == len(entries) >= 6
    assert answer["head"]["position"] == entries[-1].position

    changed = entries[3]
    await _tamper(
        session,
        'UPDATE registry.change_log SET data = data || \'{"address": "x"}\' WHERE seq = :seq',
        changed.seq,
    )
    report = await chain.verify(session, "registry")
    assert report.ok is False
    assert report.entries == len(entries)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.position) == (changed.seq, changed.position)
    assert "changed" in str(report.first_bad.why)


async def test_a_deleted_entry_is_found(registry, villages, session):
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.post("/v1/households", json=household(VILLAGE_A, "D1"))).is_success
    entries = await _entries(session)
    await _tamper(session, "DELETE FROM registry.change_log WHERE seq = :seq", entries[1].seq)
    answer = (await registry.as_(Role.province_admin, PROVINCE).get("/v1/audit/verify")).json()
    assert answer["ok"] is False
    assert answer["entries"] == len(entries) - 1
    assert answer["first_bad"]["seq"] == entries[2].seq
    assert "deleted" in answer["first_bad"]["why"]


async def test_only_province_admins_and_auditors_verify(registry, villages):
    county = registry.as_(Role.county_officer, "522301000000")
    assert (await county.get("/v1/audit/verify")).status_code == 403


async def test_the_daily_job_logs_each_chain_head(registry, villages, session, job_ctx, json_log):
    from workers import maintenance

    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    assert (await cadre.post("/v1/households", json=household(VILLAGE_A, "J1"))).is_success
    heads = await maintenance.record_chain_heads(job_ctx)
    last = (await _entries(session))[-1]
    assert heads["registry"] is not None
    assert heads["registry"]["position"] == last.position
    logged = [r for r in json_log.lines() if r.get("chain") == "registry"]
    assert logged
    assert logged[-1]["head"]["hash"] == heads["registry"]["hash"]
