"""Monitoring fixtures: the monitoring app on the test's transaction, a registry client that
talks to the registry app in-process, and helpers that feed the projection."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from services.monitoring.projection import service as projection_service
from shared import idnumber
from shared.contracts.registry import ChangeEventRead
from shared.registry_client import RegistryClient
from shared.settings import Settings
from tests.conftest import ApiClient, wire_app


@pytest.fixture
async def registry_http(registry: ApiClient) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests land on the in-process registry app."""
    transport = httpx.ASGITransport(app=registry.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
        yield http


@pytest.fixture
def registry_client(registry_http: httpx.AsyncClient, settings: Settings) -> RegistryClient:
    return RegistryClient(registry_http, settings, base_url="http://registry")


@pytest.fixture
async def monitoring(
    settings: Settings, session_maker: Any, queue: Any, registry_http: httpx.AsyncClient
) -> AsyncIterator[ApiClient]:
    from services.monitoring.app import create_app

    app = wire_app(create_app(settings), session_maker, queue, http=registry_http)
    app.state.registry_base_url = "http://registry"
    async with ApiClient(app, settings) as client:
        yield client


@pytest.fixture
def mon_ctx(job_ctx: dict[str, Any], registry_client: RegistryClient) -> dict[str, Any]:
    return {**job_ctx, "registry_client": registry_client}


async def let_notice_run(session: Any, case_id: str) -> None:
    """Let the case's running notice (the inclusion notice at ``in_notice``, the elimination
    notice at ``elimination_proposed``) pass: its dates move back so it ended yesterday."""
    for stage, notice in (("in_notice", "notice"), ("elimination_proposed", "elimination_notice")):
        await session.execute(
            text(
                f"""
                UPDATE monitoring.cases
                   SET {notice}_starts_on = {notice}_starts_on
                           - ({notice}_ends_on - current_date + 1),
                       {notice}_ends_on = current_date - 1
                 WHERE id = :c AND stage = '{stage}'
                """
            ),
            {"c": case_id},
        )
    await session.commit()


# What a test's event leaves unsaid, so its data is a whole snapshot of the contract (the
# feed's ``data`` is typed): only the fields a test cares about are written out.
_NO_MONEY = "0.00"
_UNSAID: dict[str, dict[str, Any]] = {
    "household": {"household_no": "H-UNSAID", "category": "ordinary"},
    "member": {
        "name": None,
        "id_number": None,
        "relation": "other",
        "sex": "male",
        "birth_date": None,
    },
    "economics": {
        **dict.fromkeys(
            ("wage", "operating", "property", "transfer", "education", "disaster_loss"),
            _NO_MONEY,
        ),
        **dict.fromkeys(("other_rigid", "net_income", "rigid_expenses"), _NO_MONEY),
        "per_capita_net_income": _NO_MONEY,
        "resident_members": 1,
    },
}


class Feed:
    """Builds change events as the registry would publish them and applies them."""

    def __init__(self, session: Any) -> None:
        self.session, self.seq = session, 0

    def event(self, entity: str, data: dict[str, Any], op: str = "create") -> ChangeEventRead:
        self.seq += 1
        household_id = data["id"] if entity == "household" else data.get("household_id")
        return ChangeEventRead(
            seq=self.seq,
            entity=entity,
            entity_id=str(
                data.get("id") or f"{household_id}:{data.get('year') or data.get('kind')}"
            ),
            household_id=household_id,
            region_code=data["region_code"],
            op=op,
            at=datetime.now(UTC),
            data={
                k: (str(v) if isinstance(v, UUID | Decimal | date) else v)
                for k, v in {**_UNSAID.get(entity, {}), **data}.items()
            },
        )

    async def apply(self, *events: ChangeEventRead) -> None:
        await projection_service.apply_events(self.session, list(events))
        await self.session.commit()

    async def household(
        self,
        region: str,
        *,
        category: str = "poverty_alleviated",
        members: int = 3,
        labour: str = "ordinary",
        income: dict[int, str] | None = None,
        guarantees: dict[str, bool] | None = None,
        sequence: int | None = None,
    ) -> dict[str, Any]:
        hid = uuid4()
        events = [
            self.event(
                "household",
                {
                    "id": hid,
                    "region_code": region,
                    "household_no": f"H{hid.hex[:10]}",
                    "category": category,
                    "relocated": False,
                    "at_risk": False,
                },
            )
        ]
        numbers = []
        for i in range(members):
            number = idnumber.make(region, date(1980 + i, 1, 1), (sequence or hid.int) % 997 + i)
            numbers.append(number)
            events.append(
                self.event(
                    "member",
                    {
                        "id": uuid4(),
                        "household_id": hid,
                        "region_code": region,
                        "name": f"成员{i}",
                        "id_number": number,
                        "relation": "head" if i == 0 else "child",
                        "sex": "male",
                        "birth_date": date(1980 + i, 1, 1),
                        "in_school": False,
                        "schooling_stage": None,
                        "health": "healthy",
                        "disability_grade": 0,
                        "labour_capacity": labour,
                        "migrant_work_months": 0,
                        "medical_insurance": True,
                        "pension_insurance": False,
                        "dibao": False,
                        "tekun": False,
                        "departed_on": None,
                        "departure_reason": None,
                    },
                )
            )
        for year, per_capita in (income or {}).items():
            events.append(self.economics(hid, region, year, per_capita, members))
        for kind, ok in (guarantees or {}).items():
            events.append(
                self.event(
                    "guarantee",
                    {
                        "household_id": hid,
                        "region_code": region,
                        "kind": kind,
                        "ok": ok,
                        "checked_on": date(2021, 6, 1),
                        "note": "",
                    },
                    op="update",
                )
            )
        await self.apply(*events)
        return {"id": hid, "id_numbers": numbers, "region_code": region}

    def economics(
        self,
        hid: UUID,
        region: str,
        year: int,
        per_capita: str,
        members: int = 3,
        rigid: str = "0.00",
    ) -> ChangeEventRead:
        pc = Decimal(per_capita)
        net = pc * members + Decimal(rigid)
        return self.event(
            "economics",
            {
                "household_id": hid,
                "year": year,
                "region_code": region,
                "wage": f"{net:.2f}",
                "operating": "0.00",
                "property": "0.00",
                "transfer": "0.00",
                "medical_out_of_pocket": rigid,
                "education": "0.00",
                "disaster_loss": "0.00",
                "other_rigid": "0.00",
                "net_income": f"{net:.2f}",
                "rigid_expenses": rigid,
                "resident_members": members,
                "per_capita_net_income": f"{pc:.2f}",
            },
            op="update",
        )


@pytest.fixture
def feed(session: Any) -> Feed:
    return Feed(session)
