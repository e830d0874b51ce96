"""After the incident: critical incident reports, blameless post-mortems and the review schedule.

Post-mortem action items are `ActionItem` rows with source "postmortem". Must
never contain business rules or queries: the lifecycle lives in `core.report`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned

# ---------------------------------------------------------------------------
# After the incident: critical incident reports, blameless post-mortems and the
# review schedule (issue 7). Post-mortem action items are ActionItem rows with
# source "postmortem".


class IncidentReport(Base):
    """A written account of a resolved incident: the critical incident report or the post-mortem."""

    __tablename__ = "incident_reports"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind", name="uq_incident_reports_incident_kind"),
        Index("ix_incident_reports_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Section key -> text, as generated from the record and then edited.
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status_changed_at: Mapped[dt.datetime]
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class ReviewTask(Base):
    """A post-resolution review from the incident's policy, due a set time after resolution."""

    __tablename__ = "review_tasks"
    __table_args__ = (
        UniqueConstraint("incident_id", "key", name="uq_review_tasks_incident_key"),
        Index("ix_review_tasks_due_done", "due_at", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    after_resolution_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)
