"""Revision 0016 moves the audit logs and the change events into one change log per service:
on a database built by the older migrations and written by the older code, a household's
history, the audit search, the change feed after a partner's cursor and the webhook
dispatcher's cursor read the same after the upgrade, and again after the downgrade."""

import json
import os
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from povguard.scratch import _admin, run_in_thread, with_database
from services.registry.audit.repository import AuditRepository
from services.registry.audit.schemas import AuditEntry
from services.registry.changes import service as change_service
from services.registry.changes.repository import ChangeRepository
from shared.auth import Principal, Role
from shared.pagination import encode_cursor
from shared.settings import Settings

VILLAGE = "522301100001"
PROVINCE = Principal(sub="p", role=Role.province_admin, region_code="520000000000")


def _alembic(url: str, command: str, revision: str) -> None:
    from alembic import command as commands
    from alembic.config import Config

    from tests.conftest import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = Settings(demo=True, database_url=url).async_database_url()
    run_in_thread(lambda: getattr(commands, command)(config, revision))


@pytest.fixture
def old_database(servers: tuple[str, str]) -> Iterator[str]:
    """A database at revision 0015, the one before the change log (audit logs, change
    events and webhook events)."""
    admin_url, _ = servers
    name = f"povguard_test_0016_{os.getpid()}"
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    try:
        _alembic(url, "upgrade", "0015")
        yield url
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _dsn(url: str) -> str:
    return Settings(demo=True, database_url=url).asyncpg_dsn()


_AUDIT = (
    "INSERT INTO registry.audit_log (actor, actor_role, action, entity, entity_id, "
    "household_id, region_code, old, new) VALUES ($1, 'village_cadre', $2, $3, $4, $5, $6, "
    "$7::jsonb, $8::jsonb)"
)
_EVENT = (
    "INSERT INTO registry.change_events (entity, entity_id, household_id, region_code, op, "
    "data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
)


async def _write_as_before(conn: asyncpg.Connection) -> dict[str, Any]:
    """What the older code wrote: an audit row then an event per change, each change in its
    own transaction; a pairing with no event; monitoring's audit rows and webhook events."""
    hid, mid, check = uuid4(), uuid4(), uuid4()
    house = {"id": str(hid), "household_no": "H-1", "category": "monitored"}
    person = {"id": str(mid), "household_id": str(hid), "name": "王小明", "health": "healthy"}

    async def change(actor, action, entity, entity_id, old, new, op, data, audit_id=None):
        async with conn.transaction():
            await conn.execute(
                _AUDIT,
                actor,
                action,
                entity,
                audit_id or entity_id,
                hid,
                VILLAGE,
                json.dumps(old) if old is not None else None,
                json.dumps(new),
            )
            if op is not None:
                await conn.execute(_EVENT, entity, entity_id, hid, VILLAGE, op, json.dumps(data))

    await change("cadre-li", "create", "household", str(hid), None, house, "create", house)
    await change("cadre-li", "create", "member", str(mid), None, person, "create", person)
    cursor = await conn.fetchrow(
        "SELECT xid::text AS xid, seq FROM registry.change_events ORDER BY seq DESC LIMIT 1"
    )
    ill = {**person, "health": "chronic"}
    await change(
        "cadre-li", "update", "member", str(mid), {"health": "healthy"}, {"health": "chronic"},
        "update", ill,
    )  # fmt: skip
    await change(
        "cadre-li", "pair", "cadre_household", str(uuid4()), None, {"cadre": "张"}, None, None
    )
    kept = {"household_id": str(hid), "kind": "housing", "ok": True}
    await change(
        "cadre-li", "check", "guarantee", f"{hid}:housing", None, kept, "update", kept,
        audit_id=str(check),
    )  # fmt: skip
    await change(
        "officer-zhao", "update", "household", str(hid), {"category": "monitored"},
        {"category": "general"}, "update", {**house, "category": "general"},
    )  # fmt: skip
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO registry.webhook_cursors (source, xid, seq) VALUES ('registry', $1, $2)",
            int(cursor["xid"]),
            cursor["seq"],
        )
    for n in range(3):
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO monitoring.audit_log (actor, actor_role, action, entity, entity_id, "
                "region_code, new) VALUES ('officer', 'county_officer', 'case.open', 'case', "
                "$1, $2, '{}'::jsonb)",
                str(n),
                VILLAGE,
            )
            await conn.execute(
                "INSERT INTO monitoring.webhook_events (type, entity_id, region_code, data) "
                "VALUES ('case.opened', $1, $2, $3::jsonb)",
                str(n),
                VILLAGE,
                json.dumps({"n": n}),
            )
    return {"household_id": hid, "check": str(check), "cursor": (int(cursor["xid"]), cursor["seq"])}


async def _feed_before(conn: asyncpg.Connection, after: tuple[int, int]) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT seq, entity, entity_id, household_id, region_code, op, at, data "
        "FROM registry.change_events WHERE (xid, seq) > ($1::text::xid8, $2) ORDER BY xid, seq",
        str(after[0]),
        after[1],
    )
    return [
        {
            **dict(r),
            "household_id": str(r["household_id"]),
            "at": r["at"].isoformat(),
            "data": json.loads(r["data"]),
        }
        for r in rows
    ]


async def _audit_before(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT at, actor, action, entity, entity_id, old, new FROM registry.audit_log "
        "ORDER BY id DESC"
    )
    return [
        {
            **dict(r),
            "old": json.loads(r["old"]) if r["old"] else None,
            "new": json.loads(r["new"]),
        }
        for r in rows
    ]


def _shown(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    return [
        e.model_dump(include={"at", "actor", "action", "entity", "entity_id", "old", "new"})
        for e in entries
    ]


async def test_the_change_log_keeps_every_history_and_cursor(old_database: str) -> None:
    conn = await asyncpg.connect(_dsn(old_database))
    try:
        written = await _write_as_before(conn)
        feed = await _feed_before(conn, written["cursor"])
        audit = await _audit_before(conn)
        monitoring_events = await conn.fetch(
            "SELECT seq, xid::text AS xid, type, data FROM monitoring.webhook_events ORDER BY seq"
        )
    finally:
        await conn.close()
    assert len(feed) == 3
    assert len(audit) == 6

    # To 0016 itself: the reads below are plain SQL on that revision's tables.
    _alembic(old_database, "upgrade", "0016")
    engine = create_async_engine(
        Settings(demo=True, database_url=old_database).async_database_url()
    )
    try:
        async with engine.connect() as c:
            session = AsyncSession(bind=c)
            # The partner's cursor reads on exactly where it was (the feed's own predicate;
            # its horizon depends on other transactions of the server, tested elsewhere).
            got = (
                await c.execute(
                    text(
                        "SELECT seq, entity, entity_id, household_id::text, region_code, op, "
                        "data FROM registry.change_log WHERE op IS NOT NULL "
                        "AND (xid, seq) > (CAST(CAST(:xid AS text) AS xid8), :seq) "
                        "ORDER BY xid, seq"
                    ),
                    {"xid": str(written["cursor"][0]), "seq": written["cursor"][1]},
                )
            ).all()
            keys = ("seq", "entity", "entity_id", "household_id", "region_code", "op", "data")
            assert [list(g) for g in got] == [[e[k] for k in keys] for e in feed]
            # The webhook cursor and monitoring's events kept their numbers.
            cursor = await c.exec_driver_sql(
                "SELECT xid, seq FROM registry.webhook_cursors WHERE source = 'registry'"
            )
            assert tuple(cursor.one()) == written["cursor"]
            events = await c.exec_driver_sql(
                "SELECT seq, xid::text, entity || '.' || op, data FROM monitoring.change_log "
                "WHERE op IS NOT NULL ORDER BY seq"
            )
            assert [tuple(e) for e in events] == [
                (e["seq"], e["xid"], e["type"], json.loads(e["data"])) for e in monitoring_events
            ]
            audited = await c.exec_driver_sql(
                "SELECT count(*) FROM monitoring.change_log WHERE op IS NULL"
            )
            assert audited.scalar_one() == 3
            # New entries follow every migrated one.
            await c.exec_driver_sql(
                "INSERT INTO registry.change_log (actor, actor_role, action, entity, entity_id, "
                f"region_code) VALUES ('x', 'service', 'export', 'household', 'x', '{VILLAGE}')"
            )
            top = await c.exec_driver_sql("SELECT max(seq) FROM registry.change_log")
            assert top.scalar_one() == 7
            await c.rollback()
            await session.close()
    finally:
        await engine.dispose()

    # Revision 0017_feeds numbers the entries in commit order: the partner's (xid, seq)
    # cursor and the dispatcher's cursor stand at the same place in the new order. To the
    # head, since the reads below use today's models (later revisions add the batch columns);
    # the downgrade to 0015 passes back through them.
    _alembic(old_database, "upgrade", "head")
    engine = create_async_engine(
        Settings(demo=True, database_url=old_database).async_database_url()
    )
    try:
        async with engine.connect() as c:
            session = AsyncSession(bind=c)
            start = await change_service.position_after(
                ChangeRepository(session), encode_cursor(list(written["cursor"]))
            )
            got = (
                await c.execute(
                    text(
                        "SELECT seq FROM registry.change_log WHERE op IS NOT NULL "
                        "AND position > :p ORDER BY position"
                    ),
                    {"p": start},
                )
            ).all()
            assert [g.seq for g in got] == [e["seq"] for e in feed]
            cursor = await c.exec_driver_sql(
                "SELECT position FROM registry.webhook_cursors WHERE source = 'registry'"
            )
            assert cursor.scalar_one() == start
            # The history and the audit search, newest first as before. The guarantee
            # check is one entry now: named by the guarantee it changed, the check's id kept
            # among its new values (the deliberate change).
            rows, _ = await AuditRepository(session).newest_first(
                region_prefix="52", household_id=written["household_id"], limit=50
            )
            expected = []
            for a in audit:
                if a["entity"] == "guarantee":
                    a = {
                        **a,
                        "entity_id": f"{written['household_id']}:housing",
                        "new": {**a["new"], "check_id": written["check"]},
                    }
                expected.append(a)
            assert len(rows) == 6
            shown = _shown([AuditEntry.for_principal(r, PROVINCE) for r in rows])
            assert [{**e, "at": e["at"].isoformat()} for e in shown] == [
                {**e, "at": e["at"].isoformat()} for e in expected
            ]
            await session.close()
    finally:
        await engine.dispose()

    _alembic(old_database, "downgrade", "0015")
    conn = await asyncpg.connect(_dsn(old_database))
    try:
        assert await _feed_before(conn, written["cursor"]) == feed
        after = await _audit_before(conn)
        assert [(a["at"], a["actor"], a["action"], a["entity"]) for a in after] == [
            (a["at"], a["actor"], a["action"], a["entity"]) for a in audit
        ]
        back = await conn.fetch(
            "SELECT seq, xid::text AS xid, type, data FROM monitoring.webhook_events ORDER BY seq"
        )
        assert [tuple(b) for b in back] == [tuple(e) for e in monitoring_events]
    finally:
        await conn.close()
