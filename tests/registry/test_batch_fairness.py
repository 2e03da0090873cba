"""A batch shares its process: the single requests the same process serves get their turn
between its steps, not only between its items (issue 24: a GET's p99 under a batch)."""

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.auth import Role
from tests.conftest import VILLAGE_A
from tests.registry.test_batch_statements import _homes, patches


async def test_other_requests_run_before_each_write_of_a_batch(
    registry, villages, connection
) -> None:
    cadre = registry.as_(Role.village_cadre, VILLAGE_A)
    items = []
    for n, h in enumerate(await _homes(cadre, 2)):
        items += patches(n, h)
    loop = asyncio.get_running_loop()
    order: list[str] = []

    def flushing(*_: Any) -> None:
        order.append("flush")
        loop.call_soon(order.append, "another request")  # a request that became ready

    def sending(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE"):
            order.append("write")

    event.listen(Session, "before_flush", flushing)
    event.listen(connection.sync_engine, "before_cursor_execute", sending)
    try:
        answer = await cadre.post("/v1/batches", json={"items": items})
    finally:
        event.remove(Session, "before_flush", flushing)
        event.remove(connection.sync_engine, "before_cursor_execute", sending)
    assert answer.json()["applied"] == len(items), answer.text
    writes = [i for i, step in enumerate(order) if step == "write"]
    assert len(writes) == len(items)
    # Each write is preceded by its flush and then the other request's turn.
    assert all(order[i - 2 : i] == ["flush", "another request"] for i in writes), order
