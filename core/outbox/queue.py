"""Queue notifications in the caller's transaction; a repeat of the same dedupe key is a no-op."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Notification

CHANNELS = ("inbox", "email", "webhook", "slack", "teams", "sms")
DEDUPE_KEY_MAX = 200
# How a drill's notification announces itself, whatever produced it and whichever channel carries it.
DRILL_SUBJECT = "[DRILL] "
DRILL_BODY = "DRILL: this is an exercise, not a real emergency. Respond as you would for real.\n\n"


@dataclass(frozen=True)
class Draft:
    """A notification to queue. `dedupe_key` names it for good: the same key is never queued twice."""

    rule: str
    channel: str
    recipient: str
    dedupe_key: str
    due_at: dt.datetime
    subject: str = ""
    body: str = ""
    incident_id: int | None = None
    user_id: int | None = None
    endpoint_id: int | None = None
    level: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # The page (core.alerts.paging) and the outside contact this is one step of, when it is.
    page_id: int | None = None
    contact_id: int | None = None
    # From a drill incident: the subject, the body and the payload say DRILL (see `enqueue`).
    drill: bool = False

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"Unknown channel {self.channel!r}: one of {', '.join(CHANNELS)}.")
        if not 0 < len(self.dedupe_key) <= DEDUPE_KEY_MAX:
            raise ValueError(f"A dedupe key is 1 to {DEDUPE_KEY_MAX} characters.")
        if self.due_at.tzinfo is None:
            raise ValueError("due_at must carry a time zone (UTC).")


def enqueue(session: Session, draft: Draft, *, now: dt.datetime) -> Notification | None:
    """Add `draft` to the outbox in `session`'s transaction; None when its dedupe key is already queued.

    Safe against a concurrent writer of the same key: the insert runs in a savepoint, and a
    unique-key conflict leaves the caller's transaction intact.
    """
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == draft.dedupe_key)) is not None:
        return None
    subject, body, payload = draft.subject, draft.body, dict(draft.payload)
    if draft.drill:
        # One place marks drills, so no producer of notifications can forget to.
        subject, body, payload["drill"] = DRILL_SUBJECT + subject, DRILL_BODY + body, True
    row = Notification(
        rule=draft.rule, channel=draft.channel, recipient=draft.recipient[:320], dedupe_key=draft.dedupe_key,
        due_at=draft.due_at, subject=subject[:300], body=body, incident_id=draft.incident_id,
        user_id=draft.user_id, endpoint_id=draft.endpoint_id, level=draft.level, payload=payload,
        page_id=draft.page_id, contact_id=draft.contact_id,
        state="pending", attempts=0, last_error="", claimed_by="", created_at=now, updated_at=now,
    )
    # The caller's own pending changes go out first, so a conflict inside the savepoint can only be this key's.
    session.flush()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row
