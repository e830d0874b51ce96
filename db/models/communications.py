"""Client messages as they went out, and the saved versions of their templates.

Must never contain business rules or queries: rendering and sending live in
`core.communication`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now
from db.packing import DEFLATE_MESSAGES_1, PackedText


class Communication(Base):
    """A message sent to the client (or marked sent), kept exactly as it went out."""

    __tablename__ = "communications"
    __table_args__ = (Index("ix_communications_incident_sent", "incident_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    template_key: Mapped[str] = mapped_column(String(64), default="")
    template_version: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")
    # Kept exactly as sent, deflated with a preset dictionary (db.packing; migration 0023): a real email
    # is about 1 KB of text and 3-4 KB of HTML. Nullable only because SQLite cannot add a NOT NULL column;
    # every row has both (the HTML is "" when the message had none).
    body_text: Mapped[str] = mapped_column(PackedText(DEFLATE_MESSAGES_1), nullable=True)
    body_html: Mapped[str] = mapped_column(PackedText(DEFLATE_MESSAGES_1), nullable=True, default="")
    sent_at: Mapped[dt.datetime]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivery: Mapped[str] = mapped_column(String(16), default="sent")
    # A post on the incident's status page (channel "status_page"): the stage shown to the client
    # (investigating | identified | monitoring | resolved); None for every other message.
    public_status: Mapped[str | None] = mapped_column(String(16))


class MessageTemplateVersion(Base):
    """One saved version of a client message template; sent messages keep their own text."""

    __tablename__ = "message_template_versions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_message_template_versions_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    is_shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
