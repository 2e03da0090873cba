"""Fixed-window rate limits kept in Redis, so every instance of a service shares them."""

from typing import Any

from shared.errors import TooManyRequests


async def hit(redis: Any, key: str, *, limit: int, window_s: int) -> int:
    """Count one attempt under ``key``; 429 once more than ``limit`` fall in the window.
    With Redis unreachable the limit is not enforced (availability over strictness)."""
    if redis is None:
        return 0
    full_key = f"povguard:rate:{key}"
    count = int(await redis.incr(full_key))
    if count == 1:
        await redis.expire(full_key, window_s)
    if count > limit:
        ttl = int(await redis.ttl(full_key))
        raise TooManyRequests(
            f"too many attempts; try again in {max(ttl, 1)} seconds", retry_after_s=max(ttl, 1)
        )
    return count


async def reset(redis: Any, key: str) -> None:
    if redis is not None:
        await redis.delete(f"povguard:rate:{key}")
