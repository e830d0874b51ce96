"""An incident and what happens during it: roles, timeline, escalations, SLA pauses, action items.

Status and level values are plain strings here; their vocabulary and the moves
between them live in `core`. Must never contain business rules or queries.
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.accounts import Account
from db.models.base import Base, utc_now, versioned
from db.models.people import User
from db.models.settings import PolicySnapshot
from db.packing import DEFLATE_TRIAGE_1, PackedJSON


class Incident(Base):
    """A client emergency: triage answers, the computed result and its lifecycle."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_severity", "status", "severity"),
        Index("ix_incidents_account_detected", "account_id", "detected_at"),
        Index("ix_incidents_owner_status", "owner_id", "status"),
        # Home's "open incidents of my accounts" and the policies page's open counts per policy
        # (answered from the index alone), without walking every incident (migration 0020).
        Index("ix_incidents_account_status", "account_id", "status"),
        Index("ix_incidents_status_policy", "status", "policy_name"),
        Index("ix_incidents_detected_at", "detected_at"),
        Index("ix_incidents_next_deadline", "next_deadline_at"),
        Index("ix_incidents_escalation_due", "escalation_due_at"),
        Index("ix_incidents_next_client_update_due", "next_client_update_due_at"),
        Index("ix_incidents_next_alert", "next_alert_at"),
        # A unique index, not a column constraint: SQLite cannot add a UNIQUE column to a table.
        Index("uq_incidents_idempotency_key", "idempotency_key", unique=True),
        Index("ix_incidents_account_alert_dedup", "account_id", "alert_dedup_key"),
        Index("ix_incidents_outage", "outage_id"),
        Index("ix_incidents_policy_snapshot", "policy_snapshot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # The policy as it was when the incident was opened: later edits of the
    # policy never move this incident's deadlines.
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    # The policy exactly as triaged (a shared, never-edited row: see PolicySnapshot). Set on every
    # incident since migration 0019; nullable only because SQLite cannot add a NOT NULL column.
    policy_snapshot_id: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Deflated with the presets' triage results as dictionary (db.packing; migration 0023): about 1 KB of
    # rule wording per incident otherwise. Read only as a whole, never inside by SQL. Nullable only because
    # SQLite cannot add a NOT NULL column; every incident has one.
    triage_result: Mapped[dict[str, Any]] = mapped_column(PackedJSON(DEFLATE_TRIAGE_1), nullable=True)
    severity: Mapped[str] = mapped_column(String(2))
    red_status: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_category: Mapped[str] = mapped_column(String(16), default="none")
    required_level: Mapped[str | None] = mapped_column(String(8))
    current_level: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    detected_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    client_notified_at: Mapped[dt.datetime | None]
    mobilized_at: Mapped[dt.datetime | None]
    mitigated_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # The client said the fix works for them (a milestone after resolution).
    client_confirmed_at: Mapped[dt.datetime | None]
    reopened_at: Mapped[dt.datetime | None]
    last_client_update_at: Mapped[dt.datetime | None]
    # When the current escalation level first reached the required one: stops the escalation clock.
    required_level_reached_at: Mapped[dt.datetime | None]
    # Denormalised for lists and boards at scale: kept current by core flows.
    next_deadline_at: Mapped[dt.datetime | None]
    next_deadline_clock: Mapped[str | None] = mapped_column(String(32))
    # When the escalation the policy requires (now or next, by time trigger) falls
    # due while the incident is below it: lists flag it once it has passed.
    escalation_due_at: Mapped[dt.datetime | None]
    # When the client must next hear from us (first notice, then each update on the
    # policy cadence); None once resolved. Lists and home flag it once it has passed.
    next_client_update_due_at: Mapped[dt.datetime | None]
    # The next moment an alert rule of the policy fires for this incident (a warning before a
    # clock breaches, a breach, a ladder step, a client update reminder); None when nothing is
    # left to alert. Kept in the write transaction and by the scheduler, so a scheduler pass
    # reads only the incidents that are due through this index.
    next_alert_at: Mapped[dt.datetime | None]
    # What the escalation ladder, the levels' response clocks and the client schedule
    # read, kept in the write transaction: {"escalations": [[level, iso]...],
    # "responses": {level: iso}, "messages": [iso...]} (see core.incident.response_log).
    response_log: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The token of the form or request that opened it: a repeat finds this incident instead of a twin.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # The monitoring alert's dedup key, for incidents opened by `POST /api/v1/alerts`: later alerts of
    # the account with the same key join this incident while it is open (core.api.alerts).
    alert_dedup_key: Mapped[str | None] = mapped_column(String(255))
    # An exercise (the playbooks' monthly escalation drills): every notification says DRILL, and the
    # dashboard and the objectives leave it out.
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # The platform outage (parent incident) this account's incident is one part of; None when it stands alone.
    # No foreign key: SQLite could add one only by copying the table (see migration 0018); `core.outage`
    # is its only writer and outages are never deleted.
    outage_id: Mapped[int | None] = mapped_column(Integer)
    # The call or chat room where the responders meet (asked for at P0/P1 opening): http(s) only.
    war_room_url: Mapped[str | None] = mapped_column(String(500))
    # The policy's phase steps done that are not milestones: {step key: ISO time}, kept with the row.
    steps_done: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    # Many incidents share one snapshot: a lazy many-to-one by primary key, so a session loads each once.
    snapshot: Mapped[PolicySnapshot | None] = relationship(
        primaryjoin="foreign(Incident.policy_snapshot_id) == PolicySnapshot.id")

    @property
    def policy_snapshot(self) -> dict[str, Any]:
        """The policy the incident was triaged under, as stored ({} when it has none)."""
        return dict(self.snapshot.body) if self.snapshot is not None else {}

    __mapper_args__ = versioned(version)


class Outage(Base):
    """A platform outage: the parent of one incident per affected account.

    The parent carries what is shared (what broke, its impact in client words, when it started and
    ended, who runs it); each linked incident keeps its own account, contract clocks, owner and client
    messages. `status`: open | resolved. Counted once on the dashboard, however many accounts it hits.
    """

    __tablename__ = "outages"
    __table_args__ = (Index("ix_outages_status_started", "status", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Internal: what the team knows (cause, suspects, links). Never shown to a client.
    summary: Mapped[str] = mapped_column(Text, default="")
    # Client words: what clients experience; the bulk update and the status pages start from it.
    client_impact: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The idempotency key of the form or request that opened it: a double click opens one outage.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class IncidentAssignment(Base):
    """A person in an incident role (incident commander, technical lead, ...)."""

    __tablename__ = "incident_assignments"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_incident_assignments_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class TimelineEvent(Base):
    """One append-only entry in an incident's timeline."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_incident_occurred", "incident_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    occurred_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Escalation(Base):
    """An escalation to a higher level, with its handoff summary."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    from_level: Mapped[str | None] = mapped_column(String(8))
    to_level: Mapped[str] = mapped_column(String(8))
    escalated_at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    handoff: Mapped[str] = mapped_column(Text, default="")
    contacts: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SlaPause(Base):
    """A span during which the policy allows some clocks to stop (e.g. waiting on the client)."""

    __tablename__ = "sla_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ActionItem(Base):
    """A follow-up task with an owner and a due date."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_owner_done", "owner_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="incident")
    title: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)
