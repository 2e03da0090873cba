"""Demo data goes through the import pipeline, so counts, change events and audit agree."""

from sqlalchemy import text

from povguard import demo


async def _count(session, table: str) -> int:
    return (await session.execute(text(f"SELECT count(*) FROM registry.{table}"))).scalar_one()


async def test_demo_data_loads_households_members_and_economics_once(
    session_maker, session
) -> None:
    first = await demo.load_with(session_maker, households=50, year=2025)
    # The demo sets its year's monitoring policy, so a scan of the demo data is not refused.
    assert first["policy"] == {"monitoring_line": "7000.00", "status": "set"}
    assert first["households"]["status"] == "done"
    assert first["households"]["rejected"] == 0
    members = first["households"]["rows"]
    assert 100 <= members <= 300
    assert first["households"]["accepted"] == members
    assert first["economics"] == {
        "status": "done",
        "rows": 50,
        "accepted": 50,
        "unchanged": 0,
        "rejected": 0,
        "error": None,
    }
    assert await _count(session, "households") == 50
    assert await _count(session, "members") == members
    assert await _count(session, "household_economics") == 50
    events = (
        await session.execute(
            text(
                "SELECT entity, count(*) FROM registry.change_log WHERE op IS NOT NULL "
                "GROUP BY entity"
            )
        )
    ).all()
    assert dict(events) == {"household": 50, "member": members, "economics": 50}
    villages = (
        await session.execute(
            text(
                "SELECT count(*) FROM registry.regions WHERE level = 'village' AND code LIKE '5223%'"
            )
        )
    ).scalar_one()
    assert villages >= 48

    again = await demo.load_with(session_maker, households=50, year=2025)
    assert again["policy"]["status"] == "kept"
    line = await session.execute(
        text(
            "SELECT monitoring_line FROM monitoring.policies "
            "WHERE region_code = '520000000000' AND year = 2025"
        )
    )
    assert str(line.scalar_one()) == "7000.00"
    assert again["households"]["unchanged"] == members
    assert again["households"]["accepted"] == 0
    assert again["economics"]["unchanged"] == 50
    assert await _count(session, "households") == 50
    assert await _count(session, "change_log WHERE op IS NOT NULL") == 100 + members


async def test_up_loads_the_demo_only_into_an_empty_registry(session_maker, session) -> None:
    first = await demo.load_if_empty(session_maker, households=10, year=2025)
    assert first is not None
    assert first["households"]["status"] == "done"
    events = await _count(session, "change_log WHERE op IS NOT NULL")
    # A restart keeps the registry as people left it: nothing reloaded, nothing overwritten.
    assert await demo.load_if_empty(session_maker, households=10, year=2025) is None
    assert await _count(session, "change_log WHERE op IS NOT NULL") == events


async def test_demo_data_shows_its_progress(session_maker) -> None:
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=False, color_system=None)
    await demo.load_with(session_maker, households=12, year=2025, console=console)
    text = out.getvalue()
    assert "importing the demo ledger" in text
    assert "rows/s" in text
