"""Ids made in this process: ordered UUIDs for rows (a ground-floor module: it imports nothing
of Povguard's)."""

import secrets
import threading
import time
from uuid import UUID

_ordered_lock = threading.Lock()
_ordered_last = [0, 0]  # (milliseconds, counter) of the last id made in this process


def ordered_uuid() -> UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter, random bits.
    Ids made by this process increase even within one millisecond, so rows created together
    sort in the order they were made, and new ids append to the primary-key index."""
    with _ordered_lock:
        ms, counter = time.time_ns() // 1_000_000, 0
        if ms <= _ordered_last[0]:
            ms, counter = _ordered_last[0], _ordered_last[1] + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        _ordered_last[:] = [ms, counter]
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | secrets.randbits(62)
    return UUID(int=value)
