"""Accounts and sign-in."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.auth.models import User
from services.registry.auth.repository import UserRepository
from services.registry.auth.schemas import UserCreate
from services.registry.database import audit
from services.registry.regions import service as region_service
from shared import regions
from shared.auth import ROLE_LEVELS, Principal, Role, hash_password, verify_password
from shared.errors import Conflict, Unauthorized, ValidationFailed

# Verifying against a real hash when the user is unknown keeps sign-in time the same,
# so response time does not tell which usernames exist.
_DUMMY_HASH = hash_password("not-a-real-password")


async def authenticate(session: AsyncSession, username: str, password: str) -> Principal:
    user = await UserRepository(session).get_by_username(username)
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized("wrong username or password")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("wrong username or password")
    return Principal(sub=user.username, role=Role(user.role), region_code=user.region_code)


def check_role_fits_region(role: Role, region_code: str) -> None:
    levels = ROLE_LEVELS[role]
    level = regions.level_of(region_code)
    if levels is not None and level not in levels:
        allowed = ", ".join(sorted(levels))
        raise ValidationFailed.field(
            "region_code", f"a {role.value} account sits at {allowed} level, not {level}"
        )


async def create_user(session: AsyncSession, principal: Principal, data: UserCreate) -> User:
    principal.ensure_role(Role.province_admin)
    principal.ensure_covers(data.region_code, "region")
    check_role_fits_region(data.role, data.region_code)
    await region_service.require_region(session, data.region_code)
    repo = UserRepository(session)
    if await repo.get_by_username(data.username) is not None:
        raise Conflict(f"username {data.username!r} is taken")
    user = repo.add(
        User(
            username=data.username,
            password_hash=hash_password(data.password),
            role=data.role.value,
            region_code=data.region_code,
        )
    )
    await repo.flush()
    await audit.record(
        session,
        principal,
        action="create",
        entity="user",
        entity_id=user.id,
        region_code=user.region_code,
        new={"username": user.username, "role": user.role, "region_code": user.region_code},
    )
    return user


async def ensure_user(
    session: AsyncSession, username: str, password: str, role: Role, region_code: str
) -> bool:
    """Create or reset a bootstrap account (the CLI's ``create-user``). True if created."""
    repo = UserRepository(session)
    user = await repo.get_by_username(username)
    if user is None:
        repo.add(
            User(
                username=username,
                password_hash=hash_password(password),
                role=role.value,
                region_code=region_code,
            )
        )
        await repo.flush()
        return True
    user.password_hash, user.role, user.region_code, user.is_active = (
        hash_password(password),
        role.value,
        region_code,
        True,
    )
    return False
