"""Team-wide configuration and the audit log: saved policy versions, policy snapshots, settings, audit entries.

Secrets never live in settings. Audit entries are written once and never
edited. Must never contain business rules or queries.
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


class PolicyVersion(Base):
    """One saved version of an escalation policy (YAML text as written)."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_policy_versions_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200), default="custom")
    yaml_text: Mapped[str] = mapped_column(Text)
    is_preset: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PolicySnapshot(Base):
    """One policy exactly as an incident was triaged under it, stored once however many incidents share it.

    `content_hash` is the SHA-256 of the body's canonical JSON (sorted keys, no spaces), so identical
    policies share a row and a row is never edited: an incident's history stays exactly what it was
    (`incidents.policy_snapshot_id`). The body is loaded only when a process has not parsed that hash yet.
    """

    __tablename__ = "policy_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Setting(Base):
    """A team-wide setting (default policy, SMTP host, ...); secrets never live here."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEntry(Base):
    """Who changed what, when: one row per change, never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="system")
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
