"""Whether a token's account still stands as the token says, checked by every service.

The registry's database is the source of truth for accounts (people and registered clients),
and no other service reads it. Each account has a ``token_version`` that the registry bumps on
every change that must reach tokens already issued: deactivation and reactivation, a role or
region change, a password change or reset. The tokens the registry issues carry it (``ver``).

The registry publishes each account's state to one Redis hash once the change has committed:
``+version`` for an active account, ``-version`` for a deactivated one. A Lua merge keeps the
entry with the larger version, so a late or repeated writer (the refill below) never undoes a
newer change. Every service checks each request's token against the hash through an
in-process cache of ``account_cache_seconds`` (5 s): one HGET per account per process every
few seconds, so a revocation bites everywhere within seconds and a token check stays cheap.

A token is refused when its account is deactivated, or when it carries a ``ver`` older than
the account's (a role or region change: sign in again, or refresh, for a token that says the
new truth). Tokens without ``ver`` (those a service mints for itself) are refused only when
their account is deactivated.

This Redis keeps nothing on disk. The worker's ``publish_account_states`` job merges every
account's state from the registry's database into the hash each minute, so a restarted Redis
(or a publish lost to a network blip) is whole again within a minute; until then an account
without an entry passes on its signature alone, as every token did before this check
existed. While Redis is unreachable the last state seen is used and an account never seen
passes: the services keep serving, and a revocation waits for Redis.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import after_commit
from shared.errors import Unauthorized
from shared.settings import Settings

log = logging.getLogger("povguard.accounts")

_REDIS_DOWN = (RedisError, OSError, ConnectionError, TimeoutError)
_MERGE = """
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if (not old) or math.abs(tonumber(ARGV[i + 1])) >= math.abs(tonumber(old)) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return #ARGV / 2
"""
# An account's current role and region (``version|role|region``), merged by version like the
# state: webhook deliveries act for their subscription's owner as the owner stands now.
_MERGE_GRANTS = """
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local new_version = tonumber(string.match(ARGV[i + 1], '^(%d+)|'))
  if (not old) or new_version >= tonumber(string.match(old, '^(%d+)|')) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return #ARGV / 2
"""
DEACTIVATED = "the account behind this token has been deactivated"
SUPERSEDED = "the account behind this token has changed since it was issued; sign in again"

# (hash key, account key) -> (state or None, monotonic time read)
_CACHE: dict[tuple[str, str], tuple[int | None, float]] = {}
_CACHE_MAX = 100_000


def hash_key(settings: Settings) -> str:
    return f"povguard:accounts:{settings.queue_name}"


def grants_key(settings: Settings) -> str:
    return f"povguard:account_grants:{settings.queue_name}"


def user_key(username: str) -> str:
    return f"user:{username}"


def client_key(client_id: Any) -> str:
    return f"client:{client_id}"


def state_of(token_version: int, active: bool) -> int:
    return token_version if active else -token_version


def grant_of(token_version: int, role: str, region_code: str) -> str:
    return f"{token_version}|{role}|{region_code}"


def _remember(key: tuple[str, str], state: int | None) -> None:
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = (state, time.monotonic())


async def publish(redis: Any, settings: Settings, states: Iterable[tuple[str, int]]) -> int:
    """Merge ``(account key, state)`` pairs into the shared hash; how many were sent. This
    process's cache learns them at once, other processes within their cache time."""
    hkey = hash_key(settings)
    pairs = list(states)
    for account, state in pairs:
        cached = _CACHE.get((hkey, account))
        if cached is None or cached[0] is None or abs(state) >= abs(cached[0]):
            _remember((hkey, account), state)
    if redis is None or not pairs:
        return 0
    args: list[Any] = [v for pair in pairs for v in pair]
    try:
        await redis.eval(_MERGE, 1, hkey, *args)
    except _REDIS_DOWN:
        log.warning("Redis unreachable: account states wait for the next refill")
        return 0
    return len(pairs)


async def publish_grants(redis: Any, settings: Settings, grants: Iterable[tuple[str, str]]) -> None:
    """Merge ``(account key, grant_of(...))`` pairs into the grants hash."""
    args: list[Any] = [v for pair in grants for v in pair]
    if redis is None or not args:
        return
    try:
        await redis.eval(_MERGE_GRANTS, 1, grants_key(settings), *args)
    except _REDIS_DOWN:
        log.warning("Redis unreachable: account grants wait for the next refill")


@dataclass(frozen=True)
class Standing:
    """How an account stands now, as the registry last published it: active or not, and its
    role and region (None when no grant was published for its current version)."""

    active: bool
    role: str | None = None
    region_code: str | None = None


async def standings(redis: Any, settings: Settings, keys: list[str]) -> dict[str, Standing]:
    """Each known account's standing, read fresh from Redis (two HMGETs for any number of
    accounts); an account Redis does not know, or all of them while it is unreachable, is
    left out: it passes, as its tokens do (see the module's notes)."""
    if redis is None or not keys:
        return {}
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget(hash_key(settings), keys)
            pipe.hmget(grants_key(settings), keys)
            states, grants = await pipe.execute()
    except _REDIS_DOWN:
        return {}
    known: dict[str, Standing] = {}
    for key, raw_state, raw_grant in zip(keys, states, grants, strict=True):
        if raw_state is None:
            continue
        state = int(raw_state)
        role = region = None
        if raw_grant is not None:
            version, role_, region_ = _text(raw_grant).split("|", 2)
            if int(version) == abs(state):  # a grant of an older version says nothing now
                role, region = role_, region_
        known[key] = Standing(state > 0, role, region)
    return known


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def _state(redis: Any, settings: Settings, account: str) -> int | None:
    key = (hash_key(settings), account)
    cached = _CACHE.get(key)
    if cached is not None and time.monotonic() - cached[1] < settings.account_cache_seconds:
        return cached[0]
    if redis is None:
        return cached[0] if cached else None
    try:
        raw = await redis.hget(key[0], account)
    except _REDIS_DOWN:
        return cached[0] if cached else None
    state = int(raw) if raw is not None else None
    _remember(key, state)
    return state


class TokenHolder(Protocol):
    """What the check reads of a token's principal (``shared.auth.Principal``, a floor above,
    which calls the check: this module does not import it)."""

    @property
    def account_key(self) -> str: ...

    @property
    def token_version(self) -> int | None: ...


async def check(redis: Any, settings: Settings, principal: TokenHolder) -> None:
    """401 when the token's account is deactivated or changed after the token was issued."""
    state = await _state(redis, settings, principal.account_key)
    if state is None:
        return
    if state < 0:
        raise Unauthorized(DEACTIVATED)
    if principal.token_version is not None and principal.token_version < state:
        raise Unauthorized(SUPERSEDED)


@dataclass(frozen=True)
class AccountNews:
    """Where the registry announces account changes: Redis, once the change has committed."""

    redis: Any
    settings: Settings

    def changed(
        self,
        session: AsyncSession,
        account: str,
        token_version: int,
        active: bool,
        grant: tuple[str, str] | None = None,
    ) -> None:
        """Announce the account's state (and its ``(role, region)``) after the commit."""
        state = state_of(token_version, active)

        async def announce() -> None:
            await publish(self.redis, self.settings, [(account, state)])
            if grant is not None:
                pair = (account, grant_of(token_version, *grant))
                await publish_grants(self.redis, self.settings, [pair])

        after_commit(session, announce)
