"""Every query of the webhook machinery, on the tables of one service's ``Hub``."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regions
from shared.auth import Role
from shared.changelog import PUBLISHED
from shared.pagination import paginate
from shared.webhooks.delivery import Attempt
from shared.webhooks.hub import Hub, masking

# A time-ordered UUID (v7) made by PostgreSQL, so deliveries list in the order they were made.
# A UUIDv7 made in SQL: Unix milliseconds, then the event's rank in the batch (``ev.rank``)
# where RFC 9562 allows a counter, so one batch's deliveries list in event order even
# within one millisecond, then random bits.
_UUID7 = (
    "CAST(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')"
    " || '7' || substr(lpad(to_hex(ev.rank), 8, '0'), 1, 3) || '8'"
    " || substr(lpad(to_hex(ev.rank), 8, '0'), 4, 5) || substr(md5(random()::text), 1, 10)"
    " AS uuid)"
)


@dataclass(frozen=True)
class FanOut:
    events: int
    deliveries: int
    subscriptions: list[UUID]


@dataclass(frozen=True)
class Claimed:
    id: UUID
    body: str
    attempts: int  # made before this one


def _role_groups() -> dict[tuple[bool, bool], list[str]]:
    groups: dict[tuple[bool, bool], list[str]] = {}
    for role in Role:
        groups.setdefault(masking(role.value), []).append(role.value)
    return groups


class WebhookRepository:
    def __init__(self, session: AsyncSession, hub: Hub) -> None:
        self.session, self.hub = session, hub
        self.sub, self.dl, self.cur = hub.subscription, hub.delivery, hub.cursor

    # -- subscriptions --------------------------------------------------------------------

    def add(self, obj: Any) -> Any:
        self.session.add(obj)
        return obj

    async def subscription(self, id_: UUID, owner: str) -> Any | None:
        stmt = select(self.sub).where(self.sub.id == id_, self.sub.owner == owner)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def subscriptions_of(self, owner: str, cursor: str | None, limit: int) -> Any:
        stmt = select(self.sub).where(self.sub.owner == owner)
        return await paginate(self.session, stmt, [self.sub.id], cursor, limit)

    async def delete_subscription(self, id_: UUID) -> None:
        await self.session.execute(delete(self.sub).where(self.sub.id == id_))

    async def deliveries_of(
        self, subscription_id: UUID, status: str | None, cursor: str | None, limit: int
    ) -> Any:
        stmt = select(self.dl).where(self.dl.subscription_id == subscription_id)
        if status is not None:
            stmt = stmt.where(self.dl.status == status)
        return await paginate(self.session, stmt, [self.dl.id], cursor, limit)

    async def delivery(self, subscription_id: UUID, id_: UUID) -> Any | None:
        stmt = (
            select(self.dl)
            .where(self.dl.id == id_, self.dl.subscription_id == subscription_id)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def redeliver(self, delivery_id: UUID, retry_for: timedelta) -> Any:
        """Due again now (the database's now: the delivery job compares with it)."""
        stmt = (
            update(self.dl)
            .where(self.dl.id == delivery_id)
            .values(
                status="pending",
                next_attempt_at=func.now(),
                retry_until=func.now() + retry_for,
            )
            .returning(self.dl)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).scalar_one()

    # -- the dispatcher ---------------------------------------------------------------------

    async def ensure_cursor(self) -> None:
        """Start the dispatcher where the source is now: a first subscription gets the
        changes after it, not the whole history (that is what the change feed is for)."""
        src = self.hub.source
        await self.session.execute(
            text(
                f"""
                INSERT INTO {self.hub.schema}.webhook_cursors (source, position)
                SELECT :source, coalesce(max(position), 0) FROM {src.table} WHERE {PUBLISHED}
                ON CONFLICT (source) DO NOTHING
                """
            ),
            {"source": self.hub.service},
        )

    async def lock_cursor(self) -> int | None:
        """The position of the last event fanned out (None: no subscription ever)."""
        return (
            await self.session.execute(
                select(self.cur.position)
                .where(self.cur.source == self.hub.service)
                .with_for_update()
            )
        ).scalar_one_or_none()

    async def fan_out(
        self, after: int, limit: int, retry_for: timedelta
    ) -> tuple[FanOut, int | None]:
        """One page of events past ``after`` into deliveries for every matching active
        subscription, each body masked for its subscriber's role, in one statement."""
        src = self.hub.source
        params: dict[str, Any] = {
            "after": after,
            "limit": limit,
            "retry": retry_for,
        }
        cases = []
        for i, ((strip, mask), roles) in enumerate(_role_groups().items()):
            params[f"roles{i}"] = roles
            cases.append(f"WHEN s.role = ANY(:roles{i}) THEN {src.data_sql(strip, mask)}")
        data = f"CASE {' '.join(cases)} END"
        # An entity the subscriber's role may not read (its GET refuses it) is not delivered.
        readable = ""
        for i, (entity, readers) in enumerate(sorted(src.readers.items())):
            params[f"entity{i}"], params[f"readers{i}"] = entity, list(readers)
            readable += f" AND (ev.entity <> :entity{i} OR s.role = ANY(:readers{i}))"
        row = (
            await self.session.execute(
                text(
                    f"""
                    WITH ev AS MATERIALIZED (
                        SELECT ev.*, {src.type_sql} AS event_type,
                               row_number() OVER (ORDER BY ev.position) AS rank
                          FROM {src.table} ev
                         WHERE ev.{PUBLISHED} AND ev.position > :after
                         ORDER BY ev.position
                         LIMIT :limit
                    ), ins AS (
                        INSERT INTO {self.hub.schema}.webhook_deliveries AS d
                               (id, subscription_id, event_type, event_ref, body, status,
                                attempts, next_attempt_at, retry_until, created_at)
                        SELECT {_UUID7}, s.id, ev.event_type, ev.seq::text,
                               json_build_object('type', ev.event_type, 'timestamp', ev.at,
                                                 'data', {data})::text,
                               'pending', 0, now(), now() + :retry, now()
                          FROM ev JOIN {self.hub.schema}.webhook_subscriptions s
                            ON s.status = 'active'
                           AND ev.region_code LIKE s.region_prefix || '%'
                           AND (ev.event_type = ANY(s.events) OR '*' = ANY(s.events))
                           {readable}
                        ON CONFLICT (subscription_id, event_ref) DO NOTHING
                        RETURNING d.subscription_id
                    )
                    SELECT (SELECT count(*) FROM ev) AS events,
                           (SELECT count(*) FROM ins) AS deliveries,
                           (SELECT array_agg(DISTINCT subscription_id) FROM ins) AS subs,
                           (SELECT max(position) FROM ev) AS last
                    """
                ),
                params,
            )
        ).one()
        return FanOut(row.events, row.deliveries, list(row.subs or [])), row.last

    async def move_cursor(self, to: int) -> None:
        await self.session.execute(
            update(self.cur).where(self.cur.source == self.hub.service).values(position=to)
        )

    # -- delivery -------------------------------------------------------------------------

    async def claim(self, subscription_id: UUID, limit: int, lease: timedelta) -> list[Claimed]:
        """Due deliveries of one subscription, leased: a worker that dies mid-send leaves
        them due again when the lease ends, never lost."""
        rows = await self.session.execute(
            text(
                f"""
                UPDATE {self.hub.schema}.webhook_deliveries d
                   SET next_attempt_at = now() + :lease
                 WHERE d.id IN (
                       SELECT id FROM {self.hub.schema}.webhook_deliveries
                        WHERE subscription_id = :sub AND status = 'pending'
                          AND next_attempt_at <= now()
                        ORDER BY next_attempt_at
                        LIMIT :limit
                          FOR UPDATE SKIP LOCKED)
                RETURNING d.id, d.body, d.attempts
                """
            ),
            {"sub": subscription_id, "limit": limit, "lease": lease},
        )
        return [Claimed(r.id, r.body, r.attempts) for r in rows]

    async def record(self, attempts: list[Attempt], waits: list[timedelta | None]) -> None:
        """Each attempt's outcome: delivered, due again after its wait, or given up once its
        retry window has passed."""
        await self.session.execute(
            text(
                f"""
                UPDATE {self.hub.schema}.webhook_deliveries d
                   SET attempts = d.attempts + 1,
                       last_attempt_at = r.at,
                       last_status_code = r.code,
                       last_latency_ms = r.ms,
                       last_error = r.error,
                       status = CASE WHEN r.ok THEN 'succeeded'
                                     WHEN r.at + r.wait > d.retry_until THEN 'failed'
                                     ELSE 'pending' END,
                       next_attempt_at = CASE WHEN r.ok OR r.at + r.wait > d.retry_until
                                              THEN NULL ELSE r.at + r.wait END,
                       delivered_at = CASE WHEN r.ok THEN r.at END
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]),
                              CAST(:oks AS boolean[]), CAST(:codes AS int[]),
                              CAST(:ms AS int[]), CAST(:errors AS text[]),
                              CAST(:waits AS interval[]))
                       AS r(id, at, ok, code, ms, error, wait)
                 WHERE d.id = r.id
                """
            ),
            {
                "ids": [a.delivery_id for a in attempts],
                "ats": [a.at for a in attempts],
                "oks": [a.ok for a in attempts],
                "codes": [a.status_code for a in attempts],
                "ms": [a.latency_ms for a in attempts],
                "errors": [a.error for a in attempts],
                "waits": [w or timedelta(0) for w in waits],
            },
        )

    async def set_health(
        self, subscription_id: UUID, failing_since: datetime | None, status: str, reason: str | None
    ) -> None:
        await self.session.execute(
            update(self.sub)
            .where(self.sub.id == subscription_id)
            .values(failing_since=failing_since, status=status, status_reason=reason)
        )

    async def give_up_pending(self, subscription_id: UUID, reason: str) -> None:
        await self.session.execute(
            update(self.dl)
            .where(self.dl.subscription_id == subscription_id, self.dl.status == "pending")
            .values(status="failed", next_attempt_at=None, last_error=reason)
        )

    # -- owners (see ``owners``) --------------------------------------------------------------

    async def active_owners(self, subscription_id: UUID | None) -> list[Any]:
        stmt = select(
            self.sub.id, self.sub.owner, self.sub.client_id, self.sub.role, self.sub.region_code
        ).where(self.sub.status == "active")
        if subscription_id is not None:
            stmt = stmt.where(self.sub.id == subscription_id)
        return list((await self.session.execute(stmt)).all())

    async def disable_for_owner(self, gone: list[tuple[UUID, str]]) -> None:
        """Disable these subscriptions and drop their undelivered deliveries, with a reason."""
        if not gone:
            return
        params = {"ids": [g[0] for g in gone], "reasons": [g[1] for g in gone]}
        await self.session.execute(
            text(
                f"""
                UPDATE {self.hub.schema}.webhook_subscriptions s
                   SET status = 'disabled', status_reason = r.reason
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS r(id, reason)
                 WHERE s.id = r.id
                """
            ),
            params,
        )
        await self._drop(params)

    async def narrow(self, narrowed: list[Any]) -> None:
        """The owners' current role and region onto their subscriptions; deliveries prepared
        for wider rights are dropped."""
        if not narrowed:
            return
        await self.session.execute(
            text(
                f"""
                UPDATE {self.hub.schema}.webhook_subscriptions s
                   SET role = r.role, region_code = r.region, region_prefix = r.prefix
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:roles AS text[]),
                              CAST(:regions AS text[]), CAST(:prefixes AS text[]))
                       AS r(id, role, region, prefix)
                 WHERE s.id = r.id
                """
            ),
            {
                "ids": [n.subscription_id for n in narrowed],
                "roles": [n.role for n in narrowed],
                "regions": [n.region_code for n in narrowed],
                "prefixes": [regions.prefix_of(n.region_code) for n in narrowed],
            },
        )
        dropped = [n for n in narrowed if n.drop_reason is not None]
        if dropped:
            await self._drop(
                {
                    "ids": [n.subscription_id for n in dropped],
                    "reasons": [n.drop_reason for n in dropped],
                }
            )

    async def _drop(self, params: dict[str, Any]) -> None:
        """Undelivered deliveries of these subscriptions are given up and their bodies
        forgotten (an empty body cannot be sent again by hand)."""
        await self.session.execute(
            text(
                f"""
                UPDATE {self.hub.schema}.webhook_deliveries d
                   SET status = 'failed', next_attempt_at = NULL, last_error = r.reason,
                       body = ''
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS r(id, reason)
                 WHERE d.subscription_id = r.id AND d.status IN ('pending', 'failed')
                """
            ),
            params,
        )

    async def lock_subscription(self, subscription_id: UUID) -> Any | None:
        stmt = select(self.sub).where(self.sub.id == subscription_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def due_subscriptions(self) -> list[UUID]:
        rows = await self.session.execute(
            select(self.dl.subscription_id)
            .where(self.dl.status == "pending", self.dl.next_attempt_at <= func.now())
            .distinct()
        )
        return list(rows.scalars())

    async def backlog(self) -> tuple[int, float | None, int]:
        """For the scrape: deliveries waiting, the age in seconds of the oldest of them, and
        the subscriptions whose receiver is failing now."""
        waiting = select(
            func.count(), func.extract("epoch", func.now() - func.min(self.dl.created_at))
        ).where(self.dl.status == "pending")
        pending, oldest = (await self.session.execute(waiting)).one()
        failing = await self.session.scalar(
            select(func.count()).select_from(self.sub).where(self.sub.failing_since.is_not(None))
        )
        return int(pending), None if oldest is None else float(oldest), int(failing or 0)

    async def purge(self, before: datetime, limit: int) -> int:
        """Forget finished deliveries older than ``before`` (ids are time-ordered)."""
        result = await self.session.execute(
            text(
                f"""
                DELETE FROM {self.hub.schema}.webhook_deliveries WHERE id IN (
                    SELECT id FROM {self.hub.schema}.webhook_deliveries
                     WHERE created_at < :before AND status <> 'pending' LIMIT :limit)
                """
            ),
            {"before": before, "limit": limit},
        )
        return int(getattr(result, "rowcount", 0) or 0)
