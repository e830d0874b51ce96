"""The SLA summary for the dashboard (issue 6): clock and incident facts and their weekly rollups.

Kept current by `core.sla.projection` on every incident write, so dashboards
aggregate small tables, never incidents. Must never contain business rules or
queries.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

# --------------------------------------------------------------------------
# SLA summary for the dashboard (issue 6). Kept current by core.sla.projection on
# every incident write, so dashboards aggregate small tables, never incidents.

# Buckets of the time-to-milestone histogram (core.sla.metrics.DURATION_BOUNDS plus one open-ended).
SLA_DURATION_BUCKETS = 31

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
        # The clocks recorded as running, by deadline: the dashboard adds those past it since the last
        # scheduler pass (core.sla.projection.record_breaches) without reading every open clock.
        Index("ix_sla_clock_facts_running_deadline", "deadline",
              sqlite_where=text("is_open = 1 AND state = 'running'"),
              postgresql_where=text("is_open AND state = 'running'")),
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


class SlaRuleRollup(Base):
    """Stopped clocks of incidents where policy rules fired, per week, clock, severity, tier, CSM, policy and the
    set of rules that fired (",id,id,", as `IncidentFact.rules`): met, breached, duration histogram.

    Objectives scoped to kinds of incident (data issues, outages) sum these rows, picking the rule sets
    that hold one of their rules, instead of reading every incident fact to find where a rule fired. An
    incident counts once under its own rule set, so a set matching several rules is never counted twice.
    """

    __tablename__ = "sla_rule_rollup"
    __table_args__ = (
        UniqueConstraint("week", "clock", "severity", "tier", "csm_id", "policy_name", "rules",
                         name="uq_sla_rule_rollup_key"),
        # An objective reads one clock of one policy over the range.
        Index("ix_sla_rule_rollup_policy_clock_week", "policy_name", "clock", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    clock: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    rules: Mapped[str] = mapped_column(Text)
    met: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    for _column in SLA_BUCKET_COLUMNS:
        locals()[_column] = mapped_column(Integer, default=0, nullable=False)
    del _column


class SlaBreachHeat(Base):
    """Stopped breached clocks per week, severity, tier, CSM, policy, weekday, hour and quarter of detection (UTC)."""

    __tablename__ = "sla_breach_heat"
    __table_args__ = (
        UniqueConstraint("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour", "quarter",
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
    # The quarter of that UTC hour (0-3): a reader at +05:30 or +05:45 gets an exact map from the rows.
    quarter: Mapped[int] = mapped_column(Integer)
    breached: Mapped[int] = mapped_column(Integer, default=0)


class SlaOpenRollup(Base):
    """Open clocks per rollup key, as recorded: running, paused, breached (a running clock past its deadline
    moves to breached when the scheduler records it, or when its incident is next written)."""

    __tablename__ = "sla_open_rollup"
    __table_args__ = (
        UniqueConstraint("week", "clock", "severity", "tier", "csm_id", "policy_name", "target_seconds",
                         name="uq_sla_open_rollup_key"),
        Index("ix_sla_open_rollup_clock_week", "clock", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    clock: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    target_seconds: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer, default=0)
    paused: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)


class SlaOpenBreachHeat(Base):
    """Open clocks recorded as breached per week, severity, tier, CSM, policy, weekday, hour and quarter hour of
    detection (UTC)."""

    __tablename__ = "sla_open_breach_heat"
    __table_args__ = (
        UniqueConstraint("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour", "quarter",
                         name="uq_sla_open_breach_heat_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(2))
    tier: Mapped[str] = mapped_column(String(16))
    csm_id: Mapped[int] = mapped_column(Integer)
    policy_name: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    # The quarter of that UTC hour (0-3): a reader at +05:30 or +05:45 gets an exact map from the rows.
    quarter: Mapped[int] = mapped_column(Integer)
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
    # The policy rules triage fired, as ",id,id," (objectives scoped to kinds of incident, e.g. data issues).
    rules: Mapped[str] = mapped_column(Text, default="")
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
