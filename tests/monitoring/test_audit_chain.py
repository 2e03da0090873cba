"""Monitoring's change log is chained too: `GET /v1/audit/verify` walks it (tests/registry/
test_audit_chain.py breaks a chain and finds the entry)."""

from services.monitoring.database import change_log
from shared.auth import Principal, Role

PROVINCE = "520000000000"


async def test_the_monitoring_chain_verifies(monitoring, session) -> None:
    actor = Principal(sub="p", role=Role.province_admin, region_code=PROVINCE)
    for n in range(3):
        await change_log.record(
            session, actor, action="export", entity="export", entity_id=n, region_code=PROVINCE
        )
    await session.commit()
    answer = (await monitoring.as_(Role.auditor, PROVINCE).get("/v1/audit/verify")).json()
    assert answer["service"] == "monitoring"
    assert answer["ok"] is True
    assert answer["entries"] >= 3
    assert answer["head"]["hash"] is not None
