"""Sign-in limits: password and client-secret guessing, without handing attackers a way to
lock real users out.

Every attempt is counted before its credentials are checked (``shared.ratelimit``: one
atomic Lua call per counter, shared by every registry instance, counted in-process when
Redis is down so that sign-in keeps working), so parallel requests cannot slip past a limit.
An attempt that succeeds is taken back. Three counters:

- ``pair``: (account name, client address), 10 in 15 minutes. The strict limit: a guesser
  at one address gets ten tries at one account. Reset by a success from that address.
- ``address``: one address, 1000 attempts that failed (or are in flight) in 15 minutes, over
  every account name: a ceiling against one password tried across many usernames, high
  enough for a county office behind one NAT address. Past it, only accounts that have signed
  in from this address before (remembered 90 days) may still try there: the office's own
  people keep signing in while whoever is spraying from it is stopped.
- ``account``: one account name from every address, 50 failures an hour. Past it, only an
  address that has no failures of its own at this account in the window, or one this
  account has signed in from before, may still try. So a guesser spreading over many
  addresses is held to one try per fresh address, while the real user, at their usual
  address or any address that has not been guessing this account, still signs in.

So nobody is refused a right password because someone else erred: other people's failures
at the same address count only toward the office-sized ceiling, which spares the accounts
that address knows.

Counters are keyed by the name as the registry reads it (a client id as the UUID it parses
to, however it is spelled), whether or not such an account exists (and the
password is checked against a dummy hash when it does not), so unknown usernames are
throttled, and answered, exactly like known ones. Names are hashed into the keys, which
keeps them short and keeps usernames out of Redis.
"""

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis.exceptions import RedisError

from shared import ratelimit
from shared.settings import Settings

PAIR_LIMIT, PAIR_WINDOW_S = 10, 15 * 60
ADDRESS_LIMIT, ADDRESS_WINDOW_S = 1000, 15 * 60
ACCOUNT_LIMIT, ACCOUNT_WINDOW_S = 50, 60 * 60
KNOWN_ADDRESS_TTL_S = 90 * 24 * 3600
_REDIS_DOWN = (RedisError, OSError, ConnectionError, TimeoutError)


def client_name(client_id: str) -> str:
    """A client's sign-in name: ``client:`` and its id as a UUID (upper case, braces, no
    hyphens or ``urn:uuid:`` are the same client), or the id as typed if it is no UUID."""
    try:
        return f"client:{UUID(client_id.strip())}"
    except ValueError:
        return f"client:{client_id}"


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


@dataclass
class SignInAttempt:
    """One sign-in attempt of ``name`` (a username, or ``client:<id>``) from ``address``."""

    redis: Any
    settings: Settings
    name: str
    address: str

    def _key(self, kind: str, *parts: str) -> str:
        return ":".join(("signin", self.settings.queue_name, kind, *parts))

    @property
    def _pair(self) -> str:
        return self._key("pair", _digest(self.name), self.address)

    @property
    def _by_address(self) -> str:
        return self._key("address", self.address)

    @property
    def _by_account(self) -> str:
        return self._key("account", _digest(self.name))

    @property
    def _known(self) -> str:
        return f"povguard:signin-known:{self.settings.queue_name}:{_digest(self.name)}"

    async def begin(self) -> None:
        """Count this attempt; 429 with ``Retry-After`` when a limit is past."""
        pair, pair_left = await ratelimit.count(self.redis, self._pair, window_s=PAIR_WINDOW_S)
        by_address, address_left = await ratelimit.count(
            self.redis, self._by_address, window_s=ADDRESS_WINDOW_S
        )
        by_account, account_left = await ratelimit.count(
            self.redis, self._by_account, window_s=ACCOUNT_WINDOW_S
        )
        if pair > PAIR_LIMIT:
            raise ratelimit.too_many(pair_left)
        if by_address > ADDRESS_LIMIT and not await self._known_address():
            raise ratelimit.too_many(address_left)
        if by_account > ACCOUNT_LIMIT and pair > 1 and not await self._known_address():
            raise ratelimit.too_many(account_left)

    async def succeeded(self) -> None:
        """The credentials were right: take the attempt back and remember the address."""
        await ratelimit.reset(self.redis, self._pair)
        await ratelimit.refund(self.redis, self._by_address)
        await ratelimit.refund(self.redis, self._by_account)
        if self.redis is not None:
            with contextlib.suppress(*_REDIS_DOWN):
                await self.redis.sadd(self._known, self.address)
                await self.redis.expire(self._known, KNOWN_ADDRESS_TTL_S)

    async def _known_address(self) -> bool:
        if self.redis is None:
            return False
        try:
            return bool(await self.redis.sismember(self._known, self.address))
        except _REDIS_DOWN:
            return False
