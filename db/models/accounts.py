"""Customer accounts, their contacts and their health readings.

Must never contain business rules or queries: who works on which account and
the early-warning rules live in `core.account`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base, utc_now, versioned
from db.models.people import User


class Account(Base):
    """A customer account that a CSM owns."""

    __tablename__ = "accounts"
    # A unique index, not a column constraint: SQLite cannot add a UNIQUE column to a table.
    __table_args__ = (Index("uq_accounts_routing_key", "routing_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(16))
    annual_contract_value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    renewal_date: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Response commitments and service credits agreed in the contract.
    contract_terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The key monitoring tools name this account with when they send alerts (unique; None for none).
    routing_key: Mapped[str | None] = mapped_column(String(64))
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.id"
    )

    __mapper_args__ = versioned(version)


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
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AccountIncidentDay(Base):
    """How many incidents (drills aside) an account had detected on one UTC day: its derived ticket count.

    A read model of incidents, kept current by the flow that opens an incident (core.account.signals),
    so the health pages read a day per row instead of every incident of their window.
    """

    __tablename__ = "account_incident_days"
    # The team-wide health view reads a window of days for every account.
    __table_args__ = (Index("ix_account_incident_days_day", "day"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)


class IncidentAnswerReading(Base):
    """A CSAT or uptime an incident's triage answers gave (drills aside), as a reading at its detection time.

    A read model of incidents kept with AccountIncidentDay: answers are set once, when the incident opens.
    """

    __tablename__ = "incident_answer_readings"
    __table_args__ = (
        Index("ix_incident_answer_readings_account_observed", "account_id", "observed_at"),
        Index("ix_incident_answer_readings_observed_at", "observed_at"),
    )

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[dt.datetime]
    value: Mapped[float] = mapped_column(Float)


class AccountHealth(Base):
    """One account's early warnings under the team default policy, evaluated at a moment, and until when they hold.

    A read model of the account's readings, its incidents and the default policy's early-warning
    rules (core.account.signals): every write that changes those inputs re-evaluates the account in
    its own transaction, and the scheduler pass re-evaluates the accounts whose `valid_until` has
    come (a reading or a day of tickets crossing a rule's window as time passes). A row holds for
    `evaluated_at <= now < valid_until` (no end when `valid_until` is empty) under the rules whose
    fingerprint is `rules_hash`; a reader evaluates any other account live.
    """

    __tablename__ = "account_health"
    # The scheduler pass looks for the rows whose time has come.
    __table_args__ = (Index("ix_account_health_valid_until", "valid_until"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    rules_hash: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    # The risk score (the sum of the warnings' weights) and the warnings, as core.account.health makes them.
    score: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
