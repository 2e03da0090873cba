from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, update

from services.registry.auth.models import RefreshToken, User
from shared.db import utcnow
from shared.pagination import paginate
from shared.repository import RepositoryBase


class UserRepository(RepositoryBase[User]):
    model = User

    async def get_by_username(self, username: str) -> User | None:
        return (
            await self.session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()

    async def page(
        self, prefix: str, role: str | None, cursor: str | None, limit: int
    ) -> tuple[list[User], str | None]:
        stmt = select(User).where(User.region_code.startswith(prefix, autoescape=True))
        if role is not None:
            stmt = stmt.where(User.role == role)
        return await paginate(self.session, stmt, [User.username], cursor, limit)

    async def states(self, after: str, limit: int) -> list[tuple[str, int, bool, str, str]]:
        """(username, token_version, active, role, region) of every account, a page at a time."""
        rows = await self.session.execute(
            select(User.username, User.token_version, User.is_active, User.role, User.region_code)
            .where(User.username > after)
            .order_by(User.username)
            .limit(limit)
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


class RefreshTokenRepository(RepositoryBase[RefreshToken]):
    model = RefreshToken

    async def use(self, token_hash: str) -> RefreshToken | None:
        """Retire the token in one statement if it is live: of two concurrent uses, one wins."""
        now = utcnow()
        return (
            await self.session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.token_hash == token_hash,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(RefreshToken)
            )
        ).scalar_one_or_none()

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        return (
            await self.session.execute(
                select(RefreshToken).where(RefreshToken.token_hash == token_hash)
            )
        ).scalar_one_or_none()

    async def revoke_family(self, family_id: UUID, at: datetime | None = None) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at or utcnow())
        )

    async def revoke_user(self, user_id: UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    async def purge_expired(self, before: datetime) -> int:
        """Forget tokens that expired before ``before``: past expiry no copy can be replayed,
        so reuse detection no longer needs them."""
        result = await self.session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
