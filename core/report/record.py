"""The record an after-incident document is written from: the incident's facts as plain values.

`core.report.service.load_record` reads it from the database; `core.report.sections`
writes the first draft from it and `core.report.exports` prints its header. This
module holds values only: no database work, no clock, and it never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.incident.audience import ClientValues
from core.sla.clocks import SlaClock

# The red-status playbook measures prevention by repeats "within 6 months";
# the red-status preset reads that as 180 days, and so do we.
REPEAT_WINDOW = dt.timedelta(days=180)
POSTMORTEM_SOURCE = "postmortem"


@dataclass(frozen=True)
class RecordEvent:
    """One timeline entry of the record."""

    at: dt.datetime
    kind: str
    summary: str
    actor: str


@dataclass(frozen=True)
class RecordItem:
    """An action item of the record."""

    id: int
    title: str
    owner: str
    owner_id: int | None
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    source: str
    version: int


@dataclass(frozen=True)
class IncidentRecord:
    """Everything a report needs to know about one incident, as plain values."""

    id: int
    title: str
    summary: str
    account_id: int
    account_name: str
    account_tier: str
    account_time_zone: str
    account_owner_id: int | None
    annual_contract_value: Decimal
    contract_terms: dict[str, Any]
    owner_name: str
    severity: str
    severity_label: str
    red_status: bool
    policy_name: str
    policy_title: str
    status: str
    milestones: dict[str, dt.datetime | None]
    answers: dict[str, Any]
    reasons: list[str]
    clocks: list[SlaClock]
    events: list[RecordEvent]
    escalations: list[dict[str, Any]]
    communications: list[dict[str, Any]]
    pauses: list[dict[str, Any]]
    action_items: list[RecordItem]
    assignments: dict[str, str]
    reviews: list[tuple[str, str, dt.timedelta]]
    # What of the incident and its account the client may read (core.incident.audience): client texts use only this.
    client: ClientValues
    earlier: list[EarlierPostMortem] = field(default_factory=list)

    @property
    def detected_at(self) -> dt.datetime:
        """When the incident was detected (every incident has a detection time)."""
        detected = self.milestones["detected"]
        assert detected is not None
        return detected

    @property
    def resolved_at(self) -> dt.datetime | None:
        """When the incident was resolved (None while open)."""
        return self.milestones.get("resolved")

    @property
    def duration(self) -> dt.timedelta | None:
        """Detection to resolution."""
        resolved = self.resolved_at
        return resolved - self.detected_at if resolved else None


@dataclass(frozen=True)
class EarlierPostMortem:
    """A post-mortem of an earlier incident on the same account, within the repeat window."""

    incident_id: int
    title: str
    detected_at: dt.datetime
    resolved_at: dt.datetime | None
    status: str
