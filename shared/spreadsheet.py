"""Cells written to CSV or XLSX exports, safe from formula injection (CSV/DDE injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, their full-width forms ``＝ ＋ － ＠``
(typed with a Chinese input method; WPS and newer Excel read them as formulas too), a tab or a
carriage return is run as a formula by Excel and WPS. Exports prefix such text with an
apostrophe, which spreadsheet programs show as text; imports strip that one apostrophe again,
so an exported ledger re-imports to the same values."""

from urllib.parse import quote

_FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠", "\t", "\r")


def neutralise(value: object) -> object:
    """The cell to write: text that a spreadsheet would run as a formula gets a leading ``'``.
    Numbers, dates and other non-text values are returned as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The value a neutralised cell stood for (what an import reads back)."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def neutralise_sql(expression: str) -> str:
    """``neutralise`` as SQL over a text ``expression``, for exports PostgreSQL writes itself
    (``COPY ... TO STDOUT``)."""
    starts = ", ".join(f"E'{c.encode('unicode_escape').decode()}'" for c in _FORMULA_STARTS)
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) "
        f"THEN chr(39) || {expression} ELSE {expression} END"
    )


def attachment(name: str, fallback: str) -> str:
    """A ``Content-Disposition`` for a download named ``name`` (RFC 6266 with RFC 8187's
    UTF-8 ``filename*``; ``fallback`` is the ASCII name for clients that know only
    ``filename``)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
