"""Keyset pagination: ``?limit=`` (default 50, max 1000) and an opaque ``?cursor=``.

The cursor encodes the sort key of the last item returned; the next page starts strictly
after it, so pages stay stable while rows are inserted."""

import base64
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from shared.errors import ValidationFailed

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (max 1000).")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"t": "Decimal", "v": str(value)}
    if isinstance(value, UUID | datetime | date):
        return {
            "t": type(value).__name__,
            "v": value.isoformat() if not isinstance(value, UUID) else str(value),
        }
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        kind, raw = value["t"], value["v"]
        if kind == "UUID":
            return UUID(raw)
        if kind == "datetime":
            return datetime.fromisoformat(raw)
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "Decimal":
            return Decimal(raw)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list):
            raise ValueError
        return [_typed(v) for v in values]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ValidationFailed.field(
            "cursor", "is not a cursor this API issued", code="cursor.invalid"
        ) from None


_BIGINT = 2**63


def _fits(column: InstrumentedAttribute[Any], value: Any) -> bool:
    """A hand-made cursor must not reach SQL with a value of the wrong type (a 500)."""
    try:
        expected = column.type.python_type
    except NotImplementedError:
        return True
    if isinstance(value, bool) and expected is not bool:
        return False
    if isinstance(value, int) and not -_BIGINT <= value < _BIGINT:
        return False
    if isinstance(value, str) and "\x00" in value:
        return False
    return isinstance(value, expected)


async def paginate(
    session: Any,
    stmt: Select[Any],
    order_by: Sequence[InstrumentedAttribute[Any]],
    cursor: str | None,
    limit: int,
    *,
    entities: bool = True,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Run ``stmt`` one page at a time, ascending (or ``descending``: newest first) by
    ``order_by``, whose last column must be unique. ``stmt`` selects one entity, and the page
    holds its objects; or, with ``entities=False``, columns (``order_by`` among them), and
    the page holds ``Row``s."""
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != len(order_by) or not all(map(_fits, order_by, values)):
            raise ValidationFailed.field("cursor", "does not fit this list", code="cursor.mismatch")
        key, after = tuple_(*order_by), tuple_(*values)
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(*(c.desc() for c in order_by) if descending else order_by)
    stmt = stmt.limit(limit + 1)
    result = await session.execute(stmt)
    rows = list(result.scalars().all() if entities else result.all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, col.key) for col in order_by])
    return rows, next_cursor
