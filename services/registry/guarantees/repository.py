from uuid import UUID

from sqlalchemy import select

from services.registry.guarantees.models import GuaranteeCheck
from shared.repository import RepositoryBase


class GuaranteeRepository(RepositoryBase[GuaranteeCheck]):
    model = GuaranteeCheck

    async def history(self, household_id: UUID) -> list[GuaranteeCheck]:
        stmt = select(GuaranteeCheck).where(GuaranteeCheck.household_id == household_id)
        return list((await self.session.execute(stmt.order_by(GuaranteeCheck.id.desc()))).scalars())
