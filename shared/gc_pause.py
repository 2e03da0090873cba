"""A shared pause of Python's cyclic garbage collector, for bulk parsing and validation."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off while a file is parsed and validated. Those steps make
    hundreds of thousands of row lists and records (no cycles among them) that the collector
    would otherwise traverse again and again as they pile up: for 370,196 rows, reading took
    7.0 s with it on and 2.8 s off, validation 9.7 s and 6.3 s. Overlapping users (two lanes,
    two imports in one worker) share the pause; the last one out turns collection back on,
    unless it was off before the first came in."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()
