"""The HTTP API's request and response bodies, as pydantic models: one source for validation and the OpenAPI document.

Requests forbid unknown fields, so a misspelt field is a 422 naming it rather than silently ignored.
Responses are built from the same read models as the pages (`core.api.reads`). Times are ISO 8601
in UTC. Pure shapes: no I/O, never streamlit.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.api.alerts import DEDUP_KEY_MAX, EventAction, SeverityHint
from core.limits import FreeText, TitleText
from core.triage.answers import Answers
from core.vocabulary import Severity

# An id or version: the database's columns hold whole numbers up to 2**31 - 1; a larger one is a 422, not a
# number the database cannot compare (SQLite refuses integers past 64 bits).
ROW_NUMBER_MAX = 2**31 - 1
RowNumber = Annotated[int, Field(ge=1, le=ROW_NUMBER_MAX)]


class AlertRequest(BaseModel):
    """A monitoring alert (PagerDuty Events-like): trigger, acknowledge or resolve one problem of an account."""

    model_config = ConfigDict(extra="forbid")

    event_action: EventAction = Field(description="trigger opens or joins an incident; acknowledge and resolve act "
                                                  "on the account's open incident with this dedup_key")
    dedup_key: Annotated[str, Field(min_length=1, max_length=DEDUP_KEY_MAX)] = Field(
        description="the alert's identifier, the same for every event of one problem; one open incident per key "
                    "and account")
    account_id: RowNumber | None = Field(None, description="the account's number; or routing_key")
    routing_key: Annotated[str, Field(min_length=8, max_length=64)] | None = Field(
        None, description="the key an admin set for the account; or account_id")
    title: TitleText = Field("", description="what is wrong, one line (required to open an incident)")
    summary: FreeText = Field("", description="details, shown on the incident")
    source: Annotated[str, Field(max_length=120)] = Field("", description="the monitoring tool or check, e.g. grafana")
    severity: SeverityHint | None = Field(None, description="the tool's severity; mapped to triage answers")
    answers: Answers | None = Field(None, description="triage checklist answers; they win over the severity hint")
    outage_id: RowNumber | None = Field(
        None, description="trigger only: an open platform outage's number; the incident opened (or joined) is "
                          "attached to it in the same transaction")


class OutageOfferOut(BaseModel):
    """An open platform outage the new incident could be attached to (offered when other customers are affected)."""

    id: int
    title: str
    severity: Severity
    started_at: dt.datetime
    linked: int = Field(description="how many incidents it links")


OPEN_OUTAGES_HELP = ("present when the answers say other customers are affected and no outage_id was given: the open "
                     "platform outages, newest first, to attach the incident to (null otherwise)")


class AlertResponse(BaseModel):
    """What the alert did."""

    incident_id: int
    status: Literal["created", "deduplicated", "acknowledged", "resolved"]
    severity: Severity
    needs_triage: bool = Field(False, description="opened without answers or hint: held at P1 until triaged")
    outage_id: int | None = Field(None, description="the platform outage the incident is part of")
    open_outages: list[OutageOfferOut] | None = Field(None, description=OPEN_OUTAGES_HELP)


class ErrorField(BaseModel):
    """One field at fault and what to fix."""

    field: str
    message: str


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a sentence saying what to do, and the fields at fault."""

    code: str
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error response has this body."""

    error: ErrorDetail


class ClockOut(BaseModel):
    """One SLA clock: its deadline and state (running, paused, met, breached)."""

    clock: str
    label: str
    target_seconds: float
    started_at: dt.datetime
    deadline: dt.datetime
    stopped_at: dt.datetime | None
    state: str


class LadderStepOut(BaseModel):
    """One escalation level the incident needs, due by when, reached when."""

    level: str
    name: str
    start: dt.datetime
    due: dt.datetime | None
    reached_at: dt.datetime | None
    state: str


class EscalationOut(BaseModel):
    """Where the incident stands on its escalation ladder."""

    required_level: str | None
    current_level: str | None
    overdue: bool
    due_at: dt.datetime | None
    next_level: str | None
    ladder: list[LadderStepOut]


class TimelineOut(BaseModel):
    """One timeline entry (milestones, notes, alerts, changes), newest first."""

    occurred_at: dt.datetime
    by: str
    kind: str
    summary: str


class MessageOut(BaseModel):
    """One message sent to the client."""

    at: dt.datetime
    channel: str
    subject: str
    to: str
    by: str


class ClientUpdateOut(BaseModel):
    """One message the client is owed: due when, sent when, its state."""

    due: dt.datetime
    sent_at: dt.datetime | None
    state: str
    title: str


class IncidentOut(BaseModel):
    """One incident: what the incident page shows."""

    id: int
    version: int = Field(description="the version to send back with a change (409 when someone changed it since)")
    title: str
    summary: str
    status: str
    is_open: bool
    severity: Severity
    red_status: bool
    account_id: int
    account_name: str
    owner_id: int | None
    owner_name: str
    policy_name: str
    policy_version: int
    milestones: dict[str, dt.datetime | None]
    clocks: list[ClockOut]
    escalation: EscalationOut
    timeline: list[TimelineOut]
    messages: list[MessageOut]
    client_updates: list[ClientUpdateOut]
    next_client_update_due: dt.datetime | None
    answers: dict[str, Any]
    is_drill: bool = Field(False, description="an exercise: left out of the SLA figures")
    outage_id: int | None = Field(None, description="the platform outage the incident is part of")


class IncidentRowOut(BaseModel):
    """One line of the incident list: every field of `core.incident.service.IncidentRow` (a test holds them equal;
    extra fields are refused so a new row field breaks the list call instead of vanishing), plus the next client
    update."""

    model_config = ConfigDict(extra="forbid")

    id: int
    title: str
    account: str
    tier: str
    severity: Severity
    red_status: bool
    status: str
    owner: str
    detected_at: dt.datetime
    next_deadline_at: dt.datetime | None
    next_deadline_clock: str | None
    escalation_due_at: dt.datetime | None
    is_drill: bool = Field(description="an exercise: left out of the SLA figures")
    outage_id: int | None = Field(description="the platform outage the incident is part of")
    next_client_update_due_at: dt.datetime | None


class IncidentListOut(BaseModel):
    """One page of the incident list, as the Incidents page pages it."""

    incidents: list[IncidentRowOut]
    total: int = Field(description="how many match; with total_is_lower_bound, at least this many (the count stopped)")
    total_is_lower_bound: bool = Field(
        False, description="a text search counts its matches only up to 1,000 (or the end of the page asked for)")
    page: int
    pages: int
    page_size: int


class IncidentQuery(BaseModel):
    """The incident list's filters (the Incidents page's), as query parameters; repeat status and severity."""

    model_config = ConfigDict(extra="forbid")

    status: list[Literal["new", "acknowledged", "mobilized", "mitigated", "resolved", "closed", "reopened"]] = []
    severity: list[Severity] = []
    account_id: RowNumber | None = None
    owner_id: RowNumber | None = None
    policy: Annotated[str, Field(max_length=64)] | None = None
    urgency: Literal["any", "breached", "escalation_overdue", "client_update_overdue", "due_within_hour"] = "any"
    detected_from: dt.datetime | None = None
    detected_to: dt.datetime | None = None
    q: Annotated[str, Field(max_length=200)] = Field("", description="words of the title or summary, or #id")
    sort: Literal["urgent", "newest", "oldest", "severity"] = "urgent"
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 50


class TriageRequest(BaseModel):
    """Classify a checklist under a policy without opening anything (the output of `python -m core triage`)."""

    model_config = ConfigDict(extra="forbid")

    policy: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="a saved policy's name (default: the team's default policy)")
    detected_at: AwareDatetime | None = Field(None, description="when the problem was first seen (default: now)")
    answers: Answers = Field(default_factory=Answers, description="the triage checklist's answers")


class TriageReasonOut(BaseModel):
    """One rule that fired."""

    text: str
    section: str
    rule_id: str
    outcome: str


class TriageOut(BaseModel):
    """The triage: severity, red status, escalation, deadlines and the reasons, as the CLI prints it."""

    policy: str
    severity: Severity
    red_status: bool
    escalation_category: str
    escalation_level: str | None
    reasons: list[TriageReasonOut]
    deadlines: dict[str, dt.datetime]
    open_outages: list[OutageOfferOut] | None = Field(None, description=OPEN_OUTAGES_HELP)


RecordableMilestone = Literal["acknowledged", "client_notified", "mobilized", "mitigated", "resolved",
                              "client_confirmed", "closed"]


class MilestoneRequest(BaseModel):
    """Record a milestone now, or at an earlier time with a reason (as the incident page does)."""

    model_config = ConfigDict(extra="forbid")

    milestone: RecordableMilestone
    at: AwareDatetime | None = Field(None, description="when it happened (default: now); earlier needs a reason")
    reason: FreeText = ""
    expected_version: RowNumber | None = Field(
        None, description="the incident's version you read; 409 when it changed since")


class NoteRequest(BaseModel):
    """Add a note to the incident's timeline."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[FreeText, Field(min_length=1)]


class EscalationRequest(BaseModel):
    """Escalate the incident to a higher level of its policy, with the reason the next level reads first."""

    model_config = ConfigDict(extra="forbid")

    to_level: Annotated[str, Field(min_length=1, max_length=8)] = Field(description="a level of the incident's "
                                                                                     "policy, e.g. L2")
    reason: Annotated[FreeText, Field(min_length=1)]
    at: AwareDatetime | None = Field(None, description="when you escalated (default: now)")
    expected_version: RowNumber | None = None


class ChangeOut(BaseModel):
    """The incident after a change."""

    incident_id: int
    version: int
    status: str
    severity: Severity
    current_level: str | None
    handoff: str | None = Field(None, description="the handoff summary, after an escalation")
