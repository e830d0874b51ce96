"""API tokens: the keys monitoring tools and integrations call the HTTP API with.

Only a SHA-256 digest of each token's secret is stored, with its first characters for display;
the token itself is shown once, when it is made. Scopes and what they allow live in
`core.api.tokens`. Must never contain business rules or queries.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now


class ApiToken(Base):
    """One API token: who it acts as, what it may do, until when, and whether it was revoked."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("uq_api_tokens_hash", "hash", unique=True),
        Index("ix_api_tokens_prefix", "prefix"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # The token's first characters, to recognise it in lists (never enough to use it).
    prefix: Mapped[str] = mapped_column(String(16))
    # Hex SHA-256 of the whole token.
    hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
