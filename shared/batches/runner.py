"""The batch runner: items in order, in chunks under one savepoint (or all in one, ``atomic``),
resends answered from the stored first answer."""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.batches import CHANGE_CONTEXT
from shared.batches.repository import BatchRepository
from shared.batches.schemas import BatchAnswer, BatchItem, BatchRequest, ItemAnswer, ItemError
from shared.db import ordered_uuid
from shared.errors import AppError, FieldError, validation_message
from shared.i18n import Message, render, t

M = TypeVar("M", bound=BaseModel)


@dataclass
class Applied:
    """What a handler wrote: the entity, its new version, and a soft conflict's fields."""

    id: UUID | None
    version: int | None
    created: bool = False
    # None: the phone saw the current version; a list (maybe empty): a soft conflict, the
    # fields changed since its base_version.
    soft_fields: list[str] | None = None


class HardConflict(Exception):
    """The entity changed since ``base_version`` in fields the item changes: nothing
    written."""

    def __init__(self, entity_id: UUID, version: int, fields: list[str]) -> None:
        super().__init__("hard conflict")
        self.entity_id, self.version, self.fields = entity_id, version, sorted(fields)


Handler = Callable[[AsyncSession, Principal, BatchItem, BatchRepository], Awaitable[Applied]]


def content_hash(item: BatchItem) -> str:
    body = item.model_dump(mode="json", exclude={"item_id"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def parse(model: type[M], data: dict[str, Any]) -> M:
    """``data`` as the single-entity endpoint's schema reads it; its refusals name the
    fields inside the item (``data.members.0.id_number``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(["data", *(str(p) for p in e["loc"])]),
                message=validation_message(e),
            )
            for e in exc.errors()
        ]
        raise _Invalid(errors) from None


class _Invalid(AppError):
    status, title, slug = 422, "Validation failed", "validation"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            t("the item's data is not valid", "batch.invalid_data"),
            code=errors[0].code,
            errors=errors,
        )


class _Taken(AppError):
    status, title, slug = 409, "Conflict", "conflict"


def refuse(field_name: str, message: Message) -> AppError:
    """An item-level refusal (a missing ``base_version``, an unknown op...)."""
    return _Invalid([FieldError(field=field_name, message=message)])


async def conflicts(
    repo: BatchRepository,
    item: BatchItem,
    entity: str,
    entity_id: UUID,
    log_id: str,
    version: int,
    touched: set[str],
) -> list[str] | None:
    """None when the phone saw the current version; else the fields changed since its
    ``base_version`` (a soft conflict), or ``HardConflict`` when they overlap ``touched``."""
    base = item.base_version
    if base is None:
        raise refuse(
            "base_version",
            t("a change needs the base_version it was made on", "batch.base_version_required"),
        )
    if base == version:
        return None
    if base > version:
        raise refuse(
            "base_version",
            t(
                "base_version {base} is ahead of the record's version {version}",
                "batch.base_version_ahead",
                base=base,
                version=version,
            ),
        )
    changed = await repo.changed_fields(entity, log_id, base, version)
    if changed & touched:
        raise HardConflict(entity_id, version, sorted(changed))
    return sorted(changed)


# Items run in chunks under one savepoint each, not a savepoint per item (two statements an
# item): an item refused before it wrote anything is answered and the chunk goes on; one
# refused after a write (or by the database) rolls the chunk back, the items before it run
# again as one chunk and it runs alone in its own savepoint, so the answers are the same.
CHUNK = 50


class _Failed(Exception):
    """An item refused after it wrote (or by the database): its chunk must be undone."""


@dataclass
class _Batch:
    session: AsyncSession
    principal: Principal
    handle: Handler
    repo: BatchRepository
    batch_id: UUID
    locale: str
    seen: dict[UUID, tuple[str, ItemAnswer]]
    fresh: dict[UUID, str]
    driver: Any = None  # the connection's asyncpg adapter (``share``)
    writes: int = 0  # statements other than reads sent on the batch's connection

    def count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            self.writes += 1
        self.share()

    def share(self, *_: Any) -> None:
        """Let the other requests of this process run now (see ``_TURNS``). Called by
        SQLAlchemy inside its greenlet, where ``run_async`` suspends it as an await would."""
        self.driver.run_async(_turn)


async def _turn(_: Any) -> None:
    await asyncio.sleep(0)


# Where a batch lets the single requests its process serves run, besides between items:
# before each statement it sends (``count``) and on these events of its session. An item is
# 2-3 ms of CPU (the services and the ORM, four statements), and a request that became ready
# meanwhile waited for the rest of the stretch between two of the item's awaits, ~0.7 ms at
# the 90th percentile (issue 24: a GET's p99 under a batch against idle). A turn costs ~3 µs.
_TURNS = ("do_orm_execute", "before_flush", "after_flush")


async def run(
    session: AsyncSession,
    principal: Principal,
    request: BatchRequest,
    handle: Handler,
    repo: BatchRepository,
    locale: str,
) -> BatchAnswer:
    batch_id = ordered_uuid()
    caller = principal.account_key
    stored = await repo.answers(caller, [i.item_id for i in request.items])
    seen: dict[UUID, tuple[str, ItemAnswer]] = {
        key: (row.content_hash, ItemAnswer.model_validate(row.answer))
        for key, row in stored.items()
    }
    batch = _Batch(session, principal, handle, repo, batch_id, locale, seen, {})
    answers: list[ItemAnswer] = []
    outer = await session.begin_nested() if request.atomic else None
    connection = (await session.connection()).sync_connection
    assert connection is not None
    batch.driver = connection.connection.dbapi_connection
    event.listen(connection, "before_cursor_execute", batch.count)
    for name in _TURNS:
        event.listen(session.sync_session, name, batch.share)
    try:
        items, pos, size, alone = request.items, 0, CHUNK, -1
        while pos < len(items):
            if pos == alone:
                answers.append(await _alone(batch, items[pos]))
                pos, size = pos + 1, CHUNK
            else:
                done, failed_at = await _chunk(batch, items[pos : pos + size])
                answers.extend(done)
                pos += len(done)
                if failed_at is not None:  # redo the items before it, then it alone
                    alone, size = pos + failed_at, failed_at
    finally:
        event.remove(connection, "before_cursor_execute", batch.count)
        for name in _TURNS:
            event.remove(session.sync_session, name, batch.share)
    failed = [a for a in answers if a.status == "rejected" or a.conflict == "hard"]
    if outer is not None:
        if failed:
            await outer.rollback()
            answers = [_rolled_back(a, locale) for a in answers]
            return _answer(batch_id, request, answers)  # nothing written, nothing kept
        await outer.commit()
    # The answers kept in pieces, each sent before the next is built: kept in one go, the
    # answers of 1,000 items were ~15 ms of CPU (their JSON and parameters) during which no
    # other request of this process could run.
    fresh = list(batch.fresh.items())
    for start in range(0, len(fresh), CHUNK):
        await repo.store(
            [
                {
                    "caller": caller,
                    "item_id": item_id,
                    "content_hash": digest,
                    "batch_id": batch_id,
                    "status_code": seen[item_id][1].http_status,
                    "answer": seen[item_id][1].model_dump(mode="json"),
                }
                for item_id, digest in fresh[start : start + CHUNK]
            ]
        )
    return _answer(batch_id, request, answers)


def _replayed(batch: _Batch, item: BatchItem, digest: str) -> ItemAnswer | None:
    if item.item_id not in batch.seen:
        return None
    first_hash, first = batch.seen[item.item_id]
    if first_hash == digest:
        return first.model_copy(update={"replayed": True})
    return _reused(item, batch.locale)


async def _chunk(batch: _Batch, chunk: list[BatchItem]) -> tuple[list[ItemAnswer], int | None]:
    """``chunk`` under one savepoint: its answers, or none and the index of the item that
    failed after a write (the savepoint rolled back)."""
    answers: list[ItemAnswer] = []
    kept: list[tuple[BatchItem, str]] = []
    savepoint = await batch.session.begin_nested()
    for index, item in enumerate(chunk):
        digest = content_hash(item)
        replayed = _replayed(batch, item, digest)
        if replayed is not None:
            answers.append(replayed)
            continue
        try:
            answer = await _apply(batch, item, undoable=False)
        except _Failed:
            await savepoint.rollback()
            # What the ORM holds may be what the rolled-back items wrote: read it again.
            batch.session.expire_all()
            for undone, _ in kept:
                del batch.seen[undone.item_id]
            return [], index
        answers.append(answer)
        batch.seen[item.item_id] = (digest, answer)
        kept.append((item, digest))
        # Let the single requests this process serves run between items.
        await asyncio.sleep(0)
    await savepoint.commit()
    batch.fresh.update((item.item_id, digest) for item, digest in kept)
    return answers, None


async def _alone(batch: _Batch, item: BatchItem) -> ItemAnswer:
    """One item in its own savepoint (it failed after a write in a chunk)."""
    digest = content_hash(item)
    replayed = _replayed(batch, item, digest)
    if replayed is not None:
        return replayed
    answer = await _apply(batch, item, undoable=True)
    batch.seen[item.item_id] = (digest, answer)
    batch.fresh[item.item_id] = digest
    return answer


async def _apply(batch: _Batch, item: BatchItem, *, undoable: bool) -> ItemAnswer:
    """The item's answer. ``undoable``: in its own savepoint, rolled back if refused;
    otherwise a refusal after a write (or by the database) raises ``_Failed``."""
    session = batch.session
    session.info[CHANGE_CONTEXT] = (batch.batch_id, item.item_id)
    writes = batch.writes
    try:
        if undoable:
            async with session.begin_nested():
                done = await batch.handle(session, batch.principal, item, batch.repo)
        else:
            try:
                done = await batch.handle(session, batch.principal, item, batch.repo)
            except DBAPIError:
                raise _Failed from None
            except (HardConflict, AppError):
                if batch.writes != writes or session.new or session.dirty or session.deleted:
                    raise _Failed from None
                raise
    except HardConflict as conflict:
        return ItemAnswer(
            item_id=item.item_id,
            status="conflict",
            id=conflict.entity_id,
            version=conflict.version,
            conflict="hard",
            fields=conflict.fields,
            code="batch.conflict",
            detail=render(_HARD, batch.locale),
            http_status=409,
        )
    except AppError as exc:
        return _rejected(item, exc, batch.locale)
    except DBAPIError as exc:
        refused = _DATABASE_REFUSALS.get(getattr(exc.orig, "sqlstate", None) or "")
        if refused is None:
            raise
        return _rejected(item, refused(), batch.locale)
    finally:
        session.info.pop(CHANGE_CONTEXT, None)
    soft = done.soft_fields is not None
    return ItemAnswer(
        item_id=item.item_id,
        status="conflict" if soft else "applied",
        id=done.id,
        version=done.version,
        conflict="soft" if soft else None,
        fields=sorted(done.soft_fields or []),
        http_status=201 if done.created else 200,
    )


_HARD = t(
    "the record changed since base_version in the fields this item changes: nothing was "
    "written; read it again and decide",
    "batch.conflict",
)
_TAKEN = t("it conflicts with an existing record", "conflict.duplicate")
_CHARACTER = t("it contains a character text cannot hold", "validation.character")
_CONCURRENT = t("a concurrent change got there first; retry", "conflict.concurrent")

# What the database refuses in one item (as the app's handler answers a single request):
# that item is rejected, its savepoint rolled back, and the batch goes on.
_DATABASE_REFUSALS: dict[str, Callable[[], AppError]] = {
    "23505": lambda: _Taken(_TAKEN),
    "22021": lambda: _Invalid([FieldError(field="data", message=_CHARACTER)]),
    "22P05": lambda: _Invalid([FieldError(field="data", message=_CHARACTER)]),
    "40001": lambda: _Taken(_CONCURRENT),
    "40P01": lambda: _Taken(_CONCURRENT),
}


def _rejected(item: BatchItem, exc: AppError, locale: str) -> ItemAnswer:
    return ItemAnswer(
        item_id=item.item_id,
        status="rejected",
        id=item.id,
        code=exc.code,
        errors=[ItemError(**e.rendered(locale)) for e in exc.errors or []],
        detail=render(exc.detail, locale),
        http_status=exc.status,
    )


def _reused(item: BatchItem, locale: str) -> ItemAnswer:
    message = t(
        "item_id {item_id} was sent before with other content; send a change as a new item",
        "batch.item_reused",
        item_id=item.item_id,
    )
    return ItemAnswer(
        item_id=item.item_id,
        status="rejected",
        id=item.id,
        code="batch.item_reused",
        detail=render(message, locale),
        http_status=409,
    )


def _rolled_back(answer: ItemAnswer, locale: str) -> ItemAnswer:
    """In a failed atomic batch an item that went through is undone with the rest."""
    if answer.status == "rejected" or answer.conflict == "hard" or answer.replayed:
        return answer
    message = t("not written: another item of this atomic batch failed", "batch.atomic_rolled_back")
    return ItemAnswer(
        item_id=answer.item_id,
        status="rejected",
        id=answer.id,
        code="batch.atomic_rolled_back",
        detail=render(message, locale),
        http_status=409,
    )


def _answer(batch_id: UUID, request: BatchRequest, answers: list[ItemAnswer]) -> BatchAnswer:
    return BatchAnswer(
        batch_id=batch_id,
        atomic=request.atomic,
        applied=sum(1 for a in answers if a.status == "applied" or a.conflict == "soft"),
        conflicts=sum(1 for a in answers if a.status == "conflict"),
        rejected=sum(1 for a in answers if a.status == "rejected"),
        items=answers,
    )
