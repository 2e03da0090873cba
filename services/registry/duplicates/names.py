"""Names as they sound: the pinyin of each distinct name (a name's readings, heteronyms
included: 曾 zeng/ceng, 单 shan/dan), computed once per distinct name and mapped back onto the
column, so a million members cost the few tens of thousands of names they share."""

from functools import lru_cache
from itertools import product

import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, lazy_pinyin, pinyin

# A name's readings are the product of its characters' readings: four characters with three
# readings each would be 81; names that ambiguous are rare and the first readings suffice.
MAX_READINGS = 16


@lru_cache(maxsize=65536)
def sound(name: str) -> tuple[str, tuple[str, ...], str]:
    """``(pinyin, readings, surname)`` of one name: the usual reading (``"zhang wei"``), every
    reading (heteronyms), and the surname's usual reading."""
    usual = " ".join(lazy_pinyin(name, style=Style.NORMAL, errors="default"))
    per_char = pinyin(name, style=Style.NORMAL, heteronym=True, errors="default")
    readings = [usual]
    for combo in product(*per_char):
        reading = " ".join(combo)
        if reading not in readings:
            readings.append(reading)
        if len(readings) >= MAX_READINGS:
            break
    surname = usual.split(" ", 1)[0] if usual else ""
    return usual, tuple(readings), surname


def with_sounds(table: pa.Table) -> pa.Table:
    """``table`` with ``py`` (the usual pinyin), ``py_all`` (every reading) and ``surname_py``
    added from its ``name`` column."""
    names = pc.fill_null(table.column("name"), "")
    distinct = pc.unique(names)
    sounds = [sound(name) for name in distinct.to_pylist()]
    at = pc.index_in(names, value_set=distinct)
    usual = pa.array([s[0] for s in sounds], pa.string())
    readings = pa.array([list(s[1]) for s in sounds], pa.list_(pa.string()))
    surname = pa.array([s[2] for s in sounds], pa.string())
    return (
        table.append_column("py", usual.take(at))
        .append_column("py_all", readings.take(at))
        .append_column("surname_py", surname.take(at))
    )
