from uuid import UUID

from sqlalchemy import select

from services.registry.clients.models import Client
from shared.pagination import paginate
from shared.repository import RepositoryBase


class ClientRepository(RepositoryBase[Client]):
    model = Client

    async def page(
        self, prefix: str, cursor: str | None, limit: int
    ) -> tuple[list[Client], str | None]:
        stmt = select(Client).where(Client.region_code.startswith(prefix, autoescape=True))
        return await paginate(self.session, stmt, [Client.id], cursor, limit)

    async def states(self, after: UUID, limit: int) -> list[tuple[str, int, bool, str, str]]:
        """(id, token_version, active, role, region) of every client, a page at a time."""
        rows = await self.session.execute(
            select(
                Client.id, Client.token_version, Client.is_active, Client.role, Client.region_code
            )
            .where(Client.id > after)
            .order_by(Client.id)
            .limit(limit)
        )
        return [(str(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
