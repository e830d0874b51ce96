"""The client's view of an incident: its status page link and the people and systems subscribed to it.

A status page is reached by an unguessable signed link outside the sign-in gate; it shows only
client-safe values (see `core.incident.audience`) and the updates posted to it, which are client
messages (`communications` rows with channel "status_page"). Subscribers hear of updates by email
(after confirming, double opt-in), by a signed webhook, or, for the internal tier (executives,
account managers), in the app and by email. Must never contain business rules or queries: those
live in `core.statuspage`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned


class StatusPage(Base):
    """One incident's status page: the link's secret part, the client-facing headline, revocation.

    The link is `/status/<id>.<nonce>.<HMAC>` (`core.statuspage.links`): a new link replaces `nonce`,
    so every earlier link stops working; a revoked page answers 404 to every link until a new one is made.
    """

    __tablename__ = "status_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    # Client words: the headline and impact the page shows (the CSM writes them; never the internal title).
    headline: Mapped[str] = mapped_column(String(200))
    client_impact: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class StatusSubscriber(Base):
    """Someone or something told of a status page's updates.

    `kind`: email (a person outside the team: confirms by a signed link, double opt-in), webhook (a
    URL that gets each update as signed JSON, `secret` signs it), internal (a user of the app, the
    stakeholder tier: every update, no opt-in needed). `state`: pending (waiting for confirmation),
    active, unsubscribed. `nonce` is the secret part of the current confirm or unsubscribe link; it
    changes when the link is used, so each link works once.
    """

    __tablename__ = "status_subscribers"
    __table_args__ = (
        UniqueConstraint("status_page_id", "kind", "address", name="uq_status_subscribers_page_kind_address"),
        Index("ix_status_subscribers_page_state", "status_page_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status_page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # An email address, a webhook URL, or "u:<user id>" for the internal tier.
    address: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    secret: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    nonce: Mapped[str] = mapped_column(String(64))
    # Who added them: None when they subscribed themselves on the status page.
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    confirmation_sent_at: Mapped[dt.datetime | None]
    confirmed_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)
