"""Account housekeeping: the account-state refill, every account's state from the registry's
database into Redis each minute (see ``shared.accounts``; idempotent, the merge keeps the
newer of two states), and the daily purge of expired refresh tokens."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from services.registry.auth.repository import RefreshTokenRepository, UserRepository
from services.registry.clients.repository import ClientRepository
from shared import accounts, jobs
from shared.db import utcnow

JOB_NAME = "publish_account_states"
PAGE = 1000


@jobs.task(name=JOB_NAME, timeout_s=120, max_tries=1, routine=True)
async def publish_account_states(ctx: dict[str, Any]) -> int:
    """Merge every user's and client's state into the shared hash; how many were sent. Redis
    keeps nothing on disk, so this is what makes a restarted Redis whole again."""
    sent = 0
    async with ctx["session_maker"]() as session:
        after_name = ""
        while rows := await UserRepository(session).states(after_name, PAGE):
            sent += await _publish(ctx, [(accounts.user_key(r[0]), *r[1:]) for r in rows])
            after_name = rows[-1][0]
        after_id = UUID(int=0)
        while client_rows := await ClientRepository(session).states(after_id, PAGE):
            sent += await _publish(ctx, [(accounts.client_key(r[0]), *r[1:]) for r in client_rows])
            after_id = UUID(client_rows[-1][0])
    return sent


async def _publish(ctx: dict[str, Any], rows: list[tuple[str, int, bool, str, str]]) -> int:
    """Each account's state, and its role and region (what its webhooks act with)."""
    settings, redis = ctx["settings"], ctx["redis"]
    sent = await accounts.publish(
        redis, settings, [(key, accounts.state_of(v, a)) for key, v, a, _, _ in rows]
    )
    grants = [(key, accounts.grant_of(v, role, region)) for key, v, _, role, region in rows]
    await accounts.publish_grants(redis, settings, grants)
    return sent


jobs.schedule(JOB_NAME, second={0})


PURGE_JOB = "purge_refresh_tokens"


@jobs.task(name=PURGE_JOB, timeout_s=120, max_tries=3)
async def purge_refresh_tokens(ctx: dict[str, Any]) -> int:
    """Delete refresh tokens a day past their expiry (idempotent)."""
    async with jobs.unit_of_work(ctx) as session:
        return await RefreshTokenRepository(session).purge_expired(utcnow() - timedelta(days=1))


jobs.schedule(PURGE_JOB, hour={3}, minute={23})
