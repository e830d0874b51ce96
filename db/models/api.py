"""API tokens and remembered requests: the keys monitoring tools and integrations call the HTTP API with.

Only a SHA-256 digest of each token's secret is stored, with its first characters for display;
the token itself is shown once, when it is made. `api_idempotency` keeps the answer to each
request sent with an `Idempotency-Key`, so a repeat gets the same answer and changes nothing.
Scopes and what they allow live in `core.api.tokens`. Must never contain business rules or queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned


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


class ApiIdempotency(Base):
    """The answer given to one token's request with one Idempotency-Key (a repeat is answered from here)."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_api_idempotency_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    # Hex SHA-256 of the method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class AlertSource(Base):
    """A system that sends events by webhook (a helpdesk, a monitor): how to read them, and its signing secret.

    The secret is stored as given (an HMAC key must be known to check a signature); `settings` holds
    the validated mapping (`core.api.sources.SourceSettings`): which JSON fields give the account,
    title, dedup key, severity and answers, the source's policy and severity-to-answers mapping.
    """

    __tablename__ = "alert_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    signature_header: Mapped[str] = mapped_column(String(64), default="X-Signature")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The user the source's events act as (their rights bound what it can do).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class ApiRateCount(Base):
    """How many calls one API token (or, negated, one alert source) made in one minute.

    Shared by every server process on the database, so the per-token limit holds however many
    processes serve the API. Rows older than the previous minute are deleted as calls come in.
    """

    __tablename__ = "api_rate_counts"

    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
