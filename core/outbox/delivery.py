"""Deliver the outbox: claim due rows, send each with no transaction open, record what happened.

One pass (`deliver_due`) claims up to `limit` pending rows whose `due_at` has come and whose claim
is free or expired, in its own short transaction (`SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL, so two processes never claim the same row; on SQLite every write transaction begins
IMMEDIATE, see db.engine, so claims are serialised). It sets `claimed_until = now + lease` and
`claimed_by = worker`, commits, then calls the sender for each row outside any transaction and
records the outcome in a new short transaction, only if the claim is still this worker's. A
failure is retried with exponential back-off (`backoff`) up to `MAX_ATTEMPTS`, then the row is a
dead letter whose `last_error` says why; a `DeliveryError(permanent=True)` makes it dead at once.
A process that dies mid-send leaves its claim to expire, and a later pass sends the row again:
delivery is at-least-once, and the dedupe key goes with every attempt so a receiver can drop a
repeat. This module must never decide what is due (that is core.alerts), never know a channel's
protocol (the sender is passed in), and never hold a transaction open while a sender runs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, literal_column, or_, select, text, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Notification
from db.rows import get_for_update

DEFAULT_LIMIT = 50
DEFAULT_LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(minutes=30)
MAX_ATTEMPTS = 8
ERROR_MAX = 2000
# A claimed row is only sent while its lease has at least this much left, so a slow batch never
# sends a row that another process may already have claimed again.
LEASE_MARGIN = dt.timedelta(seconds=30)


class DeliveryError(Exception):
    """A send failed. `permanent`: retrying cannot help (a 4xx, a refused recipient, a missing endpoint)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class RetryRefused(ValueError):
    """Only a dead letter can be retried; the message says what state the notification is in."""


@dataclass(frozen=True)
class Outgoing:
    """A snapshot of one claimed notification: everything a sender needs, no database object."""

    id: int
    channel: str
    rule: str
    recipient: str
    dedupe_key: str
    subject: str
    body: str
    due_at: dt.datetime
    created_at: dt.datetime
    attempts: int = 0
    incident_id: int | None = None
    user_id: int | None = None
    endpoint_id: int | None = None
    level: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


Sender = Callable[[Outgoing], None]


@dataclass(frozen=True)
class DeliverySummary:
    """One pass: `due` rows claimed, `sent`, `failed` (became dead letters), `retrying` (rescheduled)."""

    due: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0

    def as_dict(self) -> dict[str, int]:
        """The four counts by name, as `python -m core tick --once` prints them."""
        return asdict(self)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt: 30 s, doubling, at most 30 minutes."""
    if attempts <= 1:
        return FIRST_RETRY
    wait: dt.timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 16))
    return min(wait, LONGEST_WAIT)


def _snapshot(row: Notification) -> Outgoing:
    return Outgoing(
        id=row.id, channel=row.channel, rule=row.rule, recipient=row.recipient, dedupe_key=row.dedupe_key,
        subject=row.subject, body=row.body, due_at=_utc(row.due_at), created_at=_utc(row.created_at),
        attempts=row.attempts, incident_id=row.incident_id, user_id=row.user_id, endpoint_id=row.endpoint_id,
        level=row.level, payload=dict(row.payload or {}),
    )


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def claimable(now: dt.datetime) -> Any:
    """The claim query's condition: pending, due, and not held by a live claim."""
    # 'pending' is written into the SQL, not bound: a planner may use the partial index
    # ix_notifications_pending_due only when the query's condition matches the index's word for word
    # (SQLite picked the state/updated_at index when it was a parameter, and so may a prepared plan).
    return (
        (Notification.state == literal_column("'pending'"))
        & (Notification.due_at <= now)
        & or_(Notification.claimed_until.is_(None), Notification.claimed_until < now)
    )


def claim_query(now: dt.datetime, limit: int, dialect: str) -> Any:
    """SELECT the ids of the next `limit` claimable rows, oldest due first, skipping rows another process has locked."""
    if dialect == "sqlite":
        # SQLite without statistics prefers the (state, updated_at) index for `state = 'pending'` and then
        # sorts every pending row; INDEXED BY holds it to the partial index (and fails loudly should that
        # index ever stop fitting). The write lock of BEGIN IMMEDIATE stands in for FOR UPDATE here.
        stamp = Notification.__table__.c.due_at.type
        return text(
            "SELECT id FROM notifications INDEXED BY ix_notifications_pending_due "
            "WHERE state = 'pending' AND due_at <= :now AND (claimed_until IS NULL OR claimed_until < :now) "
            "ORDER BY due_at LIMIT :limit"
        ).bindparams(bindparam("now", now, type_=stamp), bindparam("limit", limit))
    # Ordered by the indexed column alone: the index then yields the batch in order, with no sort of every
    # due row (a sort on (due_at, id) did sort them all on PostgreSQL; the order of equal times is moot).
    return (select(Notification.id).where(claimable(now)).order_by(Notification.due_at)
            .limit(limit).with_for_update(skip_locked=True))


def claim(engine: Engine, *, now: dt.datetime, worker: str, limit: int = DEFAULT_LIMIT,
          lease: dt.timedelta = DEFAULT_LEASE) -> list[Outgoing]:
    """Claim up to `limit` due rows for `worker` until `now + lease`, in one committed transaction."""
    if not worker or len(worker) > 64:
        raise ValueError("A worker name is 1 to 64 characters, unique per process.")
    with session_scope(engine) as session:
        ids = list(session.scalars(claim_query(now, limit, engine.dialect.name)))
        if not ids:
            return []
        session.execute(update(Notification).where(Notification.id.in_(ids))
                        .values(claimed_until=now + lease, claimed_by=worker))
        rows = session.scalars(select(Notification).where(Notification.id.in_(ids))
                               .order_by(Notification.due_at, Notification.id)
                               .execution_options(populate_existing=True)).all()
        return [_snapshot(row) for row in rows]


def _ours(notification_id: int, worker: str) -> Any:
    return ((Notification.id == notification_id) & (Notification.state == "pending")
            & (Notification.claimed_by == worker))


def _clip(message: str) -> str:
    message = " ".join(message.split()) or "the sender failed without saying why"
    return message if len(message) <= ERROR_MAX else message[: ERROR_MAX - 1] + "…"


def record_sent(engine: Engine, item: Outgoing, *, worker: str, now: dt.datetime) -> bool:
    """Mark `item` sent if `worker` still holds its claim; False when someone else took it over."""
    with session_scope(engine) as session:
        result = session.execute(update(Notification).where(_ours(item.id, worker)).values(
            state="sent", sent_at=now, attempts=Notification.attempts + 1, claimed_until=None, updated_at=now))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def record_failure(engine: Engine, item: Outgoing, error: DeliveryError, *, worker: str,
                   now: dt.datetime, max_attempts: int = MAX_ATTEMPTS) -> str | None:
    """Record a failed attempt: 'retrying' (due again after back-off), 'dead', or None if the claim was lost."""
    attempts = item.attempts + 1
    dead = error.permanent or attempts >= max_attempts
    if dead:
        why = "permanent failure" if error.permanent else f"gave up after {attempts} attempts"
        values: dict[str, Any] = {"state": "dead", "last_error": _clip(f"{why}: {error}")}
    else:
        values = {"due_at": now + backoff(attempts), "claimed_by": "",
                  "last_error": _clip(f"attempt {attempts} failed: {error}")}
    with session_scope(engine) as session:
        result = session.execute(update(Notification).where(_ours(item.id, worker)).values(
            attempts=attempts, claimed_until=None, updated_at=now, **values))
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
    return "dead" if dead else "retrying"


def release(engine: Engine, items: list[Outgoing], *, worker: str) -> int:
    """Give back `worker`'s claims on `items` it did not send, so any pass may take them now; how many."""
    if not items:
        return 0
    with session_scope(engine) as session:
        result = session.execute(update(Notification).where(
            Notification.id.in_([item.id for item in items]), Notification.state == "pending",
            Notification.claimed_by == worker).values(claimed_until=None, claimed_by=""))
        return int(result.rowcount)  # type: ignore[attr-defined]


def deliver_due(engine: Engine, *, now: dt.datetime, send: Sender, worker: str, limit: int = DEFAULT_LIMIT,
                lease: dt.timedelta = DEFAULT_LEASE, max_attempts: int = MAX_ATTEMPTS) -> DeliverySummary:
    """One delivery pass: claim what is due, send each with no transaction open, record each outcome.

    A sender signals failure with DeliveryError; any other exception counts as a temporary failure
    of that one notification (the rest of the batch still goes out). Rows the pass had no time left
    to send within their lease are released unsent, for the next pass. Outcomes are stamped with
    `now`, the pass's time.
    """
    batch = claim(engine, now=now, worker=worker, limit=limit, lease=lease)
    started = time.monotonic()
    sent = failed = retrying = 0
    for done, item in enumerate(batch):
        if dt.timedelta(seconds=time.monotonic() - started) > lease - LEASE_MARGIN:
            # Our claim on the rest may expire mid-send: hand them back for the next pass, at once.
            release(engine, batch[done:], worker=worker)
            break
        try:
            send(item)
        except DeliveryError as error:
            outcome = record_failure(engine, item, error, worker=worker, now=now, max_attempts=max_attempts)
        except Exception as error:  # one broken notification must not stop the others
            wrapped = DeliveryError(f"{type(error).__name__}: {error}")
            outcome = record_failure(engine, item, wrapped, worker=worker, now=now, max_attempts=max_attempts)
        else:
            sent += record_sent(engine, item, worker=worker, now=now)
            continue
        failed += outcome == "dead"
        retrying += outcome == "retrying"
    return DeliverySummary(due=len(batch), sent=sent, failed=failed, retrying=retrying)


def retry(session: Session, notification_id: int, *, now: dt.datetime) -> Notification:
    """Put dead letter `notification_id` back in the queue, due now, with a fresh attempt count.

    The reason it died stays in `last_error`, marked as the previous failure. RetryRefused for a
    notification that is not dead (pending, sent or cancelled) or does not exist.
    """
    row = get_for_update(session, Notification, notification_id)
    if row is None:
        raise RetryRefused(f"There is no notification {notification_id}; reload the list.")
    if row.state != "dead":
        raise RetryRefused(f"Notification {notification_id} is {row.state}, not a dead letter: only a "
                           "notification that gave up can be retried.")
    row.last_error = _clip(f"retried {now:%Y-%m-%d %H:%M} UTC; before that, after {row.attempts} "
                           f"attempt(s): {row.last_error}")
    row.state, row.attempts, row.due_at = "pending", 0, now
    row.claimed_until, row.claimed_by, row.updated_at = None, "", now
    return row
