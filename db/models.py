"""The schema: typed SQLAlchemy 2 models for everything the app stores.

Times are stored in UTC (`UtcDateTime` refuses naive values) and shown in
the user's zone by the pages. Status and role values are plain strings here;
their vocabulary and the moves between them live in `core`. Rows that people
edit carry a `version` column that SQLAlchemy checks on every UPDATE, so a
stale edit fails instead of overwriting. This module must never contain
business rules or queries: those live in `core`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python and UTC in the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic diffs stay clean)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(Base):
    """A person who signs in: a CSM, a lead or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(100))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    password_changed_at: Mapped[dt.datetime | None]
    # Sign-in cookies issued before this moment are refused (password change,
    # reset, disable): the cookie itself cannot be recalled from a browser.
    sessions_valid_after: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class LoginThrottle(Base):
    """Failed sign-ins for one username from one client (an address, or a trusted browser)."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_failure_at", "last_failure_at"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    # An IP address, "local", or "device:<digest>" for a browser holding a device cookie.
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime]


class LoginDelay(Base):
    """Consecutive failed sign-ins for one username from anywhere: when the next try may come."""

    __tablename__ = "login_delays"
    __table_args__ = (Index("ix_login_delays_last_failure_at", "last_failure_at"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[dt.datetime]
    last_failure_at: Mapped[dt.datetime]


class RevokedSession(Base):
    """A sign-in cookie ended by "Sign out" before it expired."""

    __tablename__ = "revoked_sessions"
    __table_args__ = (Index("ix_revoked_sessions_username_exp", "username", "token_expires"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    token_expires: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Account(Base):
    """A customer account that a CSM owns."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(16))
    annual_contract_value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    renewal_date: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Response commitments and service credits agreed in the contract.
    contract_terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.id"
    )

    __mapper_args__ = {"version_id_col": version}


class Contact(Base):
    """A person at a customer account we talk to during an incident."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    preferred_channel: Mapped[str] = mapped_column(String(16), default="email")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship(back_populates="contacts")


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
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Setting(Base):
    """A team-wide setting (default policy, SMTP host, ...); secrets never live here."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Incident(Base):
    """A client emergency: triage answers, the computed result and its lifecycle."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_severity", "status", "severity"),
        Index("ix_incidents_account_detected", "account_id", "detected_at"),
        Index("ix_incidents_owner_status", "owner_id", "status"),
        Index("ix_incidents_detected_at", "detected_at"),
        Index("ix_incidents_next_deadline", "next_deadline_at"),
        Index("ix_incidents_escalation_due", "escalation_due_at"),
        Index("ix_incidents_next_client_update_due", "next_client_update_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # The policy as it was when the incident was opened: later edits of the
    # policy never move this incident's deadlines.
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    triage_result: Mapped[dict[str, Any]] = mapped_column(JSON)
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
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    __mapper_args__ = {"version_id_col": version}


class IncidentAssignment(Base):
    """A person in an incident role (incident commander, technical lead, ...)."""

    __tablename__ = "incident_assignments"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_incident_assignments_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=_now)


class TimelineEvent(Base):
    """One append-only entry in an incident's timeline."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_incident_occurred", "incident_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    occurred_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=_now)
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
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivery: Mapped[str] = mapped_column(String(16), default="sent")


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
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class AuditEntry(Base):
    """Who changed what, when: one row per change, never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=_now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="system")
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


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
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


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
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


# --------------------------------------------------------------------------
# Account health signals (issue 8: accounts and early warning).


class HealthSignal(Base):
    """One health reading of an account (tickets per day, CSAT, error rate, uptime, key metric)."""

    __tablename__ = "health_signals"
    __table_args__ = (
        UniqueConstraint("account_id", "metric", "observed_at", "source", name="uq_health_signals_reading"),
        Index("ix_health_signals_account_metric_observed", "account_id", "metric", "observed_at"),
        Index("ix_health_signals_observed_at", "observed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(32))
    observed_at: Mapped[dt.datetime]
    value: Mapped[float] = mapped_column(Float)
    # The agreed target for a key business metric; empty for the other metrics.
    target: Mapped[float | None] = mapped_column(Float)
    # Where the reading came from: "form" or "import" (readings derived from incidents are never stored).
    source: Mapped[str] = mapped_column(String(16), default="form")
    recorded_at: Mapped[dt.datetime] = mapped_column(default=_now)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --------------------------------------------------------------------------
# SLA summary for the dashboard (issue 6). Kept current by core.sla.projection on
# every incident write, so dashboards aggregate small tables, never incidents.

# Buckets of the time-to-milestone histogram (core.sla.metrics.DURATION_BOUNDS plus one open-ended).
SLA_DURATION_BUCKETS = 31
from sqlalchemy import text  # noqa: E402 - partial index conditions of the summary tables

SLA_BUCKET_COLUMNS = tuple(f"h{i:02d}" for i in range(SLA_DURATION_BUCKETS))


class SlaClockFact(Base):
    """One incident's SLA clock as of its last write: target, deadline, stop, actual time, state."""

    __tablename__ = "sla_clock_facts"
    __table_args__ = (
        Index("ix_sla_clock_facts_account_week", "account_id", "week"),
        # Open clocks are few: partial indexes hold only them (is_open = 1 in the query picks them).
        Index("ix_sla_clock_facts_open_week", "week", sqlite_where=text("is_open = 1"),
              postgresql_where=text("is_open")),
        Index("ix_sla_clock_facts_open_clock", "clock", "policy_name", "week",
              sqlite_where=text("is_open = 1"), postgresql_where=text("is_open")),
        Index("ix_sla_clock_facts_open_state_detected", "is_open", "state", "detected_at"),
    )

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(32), primary_key=True)
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(Integer)
    # The account's CSM when the incident was last written (0: none).
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[dt.datetime]
    week: Mapped[dt.date] = mapped_column(Date)
    weekday: Mapped[int] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    target_seconds: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[dt.datetime]
    stopped_at: Mapped[dt.datetime | None]
    actual_seconds: Mapped[int | None] = mapped_column(Integer)
    bucket: Mapped[int | None] = mapped_column(Integer)
    # met / breached (stopped), running / paused / breached (still open) at write time.
    state: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(Boolean)


class SlaRollup(Base):
    """Stopped clocks per week, clock, severity, tier, CSM, policy and target: met, breached, duration histogram."""

    __tablename__ = "sla_rollup"
    __table_args__ = (
        UniqueConstraint("week", "clock", "severity", "tier", "csm_id", "policy_name", "target_seconds",
                         name="uq_sla_rollup_key"),
        # Objectives read one clock over the range.
        Index("ix_sla_rollup_clock_week", "clock", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    clock: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    target_seconds: Mapped[int] = mapped_column(Integer)
    met: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    # One count column per duration bucket (h00 ... h30).
    for _column in SLA_BUCKET_COLUMNS:
        locals()[_column] = mapped_column(Integer, default=0, nullable=False)
    del _column


class SlaBreachHeat(Base):
    """Stopped breached clocks per week, severity, tier, CSM, policy, weekday and hour of detection (UTC)."""

    __tablename__ = "sla_breach_heat"
    __table_args__ = (
        UniqueConstraint("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour",
                         name="uq_sla_breach_heat_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    breached: Mapped[int] = mapped_column(Integer, default=0)


class IncidentFact(Base):
    """One incident as the dashboard counts it: dimensions, repeat flag, emergency time once resolved."""

    __tablename__ = "incident_facts"
    __table_args__ = (
        Index("ix_incident_facts_account_detected", "account_id", "detected_at"),
        Index("ix_incident_facts_resolved_at", "resolved_at"),
        Index("ix_incident_facts_updated_at", "updated_at"),
    )

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)
    csm_id: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    policy_name: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[dt.datetime]
    week: Mapped[dt.date] = mapped_column(Date)
    resolved_at: Mapped[dt.datetime | None]
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    # Detection to resolution for a resolved P0/P1 (emergency work); empty otherwise.
    emergency_seconds: Mapped[float | None] = mapped_column(Float)
    # Changes with every write: the dashboard's cache key.
    updated_at: Mapped[dt.datetime]


class IncidentRollup(Base):
    """Incidents per week, account, severity, tier, CSM and policy: count, repeats, emergency time of resolved ones."""

    __tablename__ = "incident_rollup"
    __table_args__ = (
        UniqueConstraint("week", "account_id", "severity", "tier", "csm_id", "policy_name",
                         name="uq_incident_rollup_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    account_id: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    incidents: Mapped[int] = mapped_column(Integer, default=0)
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    emergency_seconds: Mapped[float] = mapped_column(Float, default=0.0)
