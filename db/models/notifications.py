"""The notification outbox and the places notifications go.

Must never contain business rules or queries: deciding what is due lives in
`core.alerts`, claiming and retrying rows in `core.outbox`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned


class Notification(Base):
    """One message to one recipient over one channel, written before it is sent (a durable outbox).

    `state`: pending (waiting for `due_at`, or for its next retry), sent, dead (gave up: `last_error`
    says why), cancelled (no longer needed, e.g. the incident was resolved first). A process claims a
    row by setting `claimed_until` in its own short transaction, sends with no transaction open, then
    records the result; a claim that has expired (the process died) can be taken again. `dedupe_key`
    is unique: the same reminder is never queued twice, and receivers get it with every attempt so
    they can drop a repeat.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # The delivery loop's only read: pending rows that are due (and not claimed by a live process).
        Index("ix_notifications_pending_due", "due_at", sqlite_where=text("state = 'pending'"),
              postgresql_where=text("state = 'pending'")),
        Index("ix_notifications_incident_created", "incident_id", "created_at"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_state_updated", "state", "updated_at"),
        Index("ix_notifications_page", "page_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    # What produced it: "warn:acknowledge", "breach:resolve", "escalation:L2", "client_update:remind", "test"...
    rule: Mapped[str] = mapped_column(String(64))
    # inbox | email | webhook | slack | teams | sms
    channel: Mapped[str] = mapped_column(String(16))
    # The person it is for (inbox rows, acknowledge links); None for a team channel.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The webhook, Slack, Teams or SMS endpoint it goes through; None for inbox and email.
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("notification_endpoints.id", ondelete="SET NULL"))
    # Who, as shown on screens: an email address, a phone number, a user name or an endpoint's name.
    recipient: Mapped[str] = mapped_column(String(320))
    # The escalation level this notification reaches (acknowledging it records that level's response).
    level: Mapped[str | None] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # The facts channel bodies are built from (incident, clock, deadline, links...).
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[dt.datetime | None]
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[dt.datetime | None]
    read_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The page (core.alerts.paging) this notification is one step of; None for other alerts.
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id", ondelete="SET NULL"))
    # Someone paged from outside the app (external_contacts); None for a user or a team channel.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("external_contacts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class NotificationEndpoint(Base):
    """A webhook the team configured: a generic signed JSON receiver, Slack, Microsoft Teams or an SMS gateway.

    `secret` signs generic and SMS payloads (HMAC-SHA256); `levels` lists the escalation levels it
    hears about (empty: every alert).
    """

    __tablename__ = "notification_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # webhook | slack | teams | sms
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200), default="")
    levels: Mapped[list[Any]] = mapped_column(default=list)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)
