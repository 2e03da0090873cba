from sqlalchemy import select

from services.registry.auth.models import User
from shared.db import RepositoryBase


class UserRepository(RepositoryBase[User]):
    model = User

    async def get_by_username(self, username: str) -> User | None:
        return (
            await self.session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
