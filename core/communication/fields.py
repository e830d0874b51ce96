"""The message context model: every value a template may use, and which ones are internal.

`MessageContext` is the one shape a template is filled from: plain strings,
numbers, booleans and lists of strings, each with a length limit. Fields
marked internal never reach a client template (the catalog and
`check_template` refuse them there). This module only describes the fields;
building a context from the incident record is core.communication.context.
It must never import streamlit, the database or the template worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

Text = Annotated[str, StringConstraints(max_length=10_000)]
Line = Annotated[str, StringConstraints(max_length=2_000)]
Lines = Annotated[list[Line], Field(max_length=50)]
_INTERNAL: JsonDict = {"audience": "internal"}


class MessageContext(BaseModel):
    """Every value a message template may use: plain strings, numbers, booleans and lists of strings.

    Times are already formatted in the client's time zone with the zone
    abbreviation. Fields marked internal never appear in client templates
    (the catalog and `check_template` refuse them there).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The incident, in client words.
    incident_ref: Line = Field(description="Reference the client can quote, e.g. INC-1042.")
    title: Line = Field(description="Short description of the problem.")
    # summary and impact start empty: the CSM writes them in client words (never the internal triage note).
    summary: Text = Field("", description="A few sentences on what is going on, written for the client.")
    severity_label: Line = Field(description="Severity in client words: Critical, High, Medium or Low.")
    status: Line = Field(description="Status in client words, e.g. 'Fix in progress'.")
    is_resolved: bool = Field(False, description="True once the service is restored.")
    prepared_at: Line = Field("", description="When this message was prepared (client time).")
    detected_at: Line = Field(description="When the problem was first detected (client time).")
    client_time_zone: Line = Field(description="The time zone the times are shown in, e.g. Europe/Paris.")
    impact: Text = Field("", description="What is affected, written in the client's terms.")
    business_impact: Text = Field("", description="How it affects the client's operations.")
    users_affected: Line = Field("", description="Who is affected, e.g. 'about 80% of your users'.")
    affected_services: Lines = Field([], description="Services or features affected.")
    workaround: Text = Field("", description="Steps the client can take meanwhile (empty: none yet).")
    actions_taken: Lines = Field([], description="What we have done so far.")
    current_status: Text = Field("", description="One or two sentences on where things stand now.")
    next_update_at: Line = Field("", description="When the client will hear from us next (client time).")
    update_cadence: Line = Field("", description="How often updates come, e.g. 'every hour'.")
    update_number: int = Field(1, ge=1, le=10_000, description="Number of this update (1 = first message).")
    estimated_resolution: Line = Field("", description="Our estimate for a fix, if we are confident giving one.")
    timeline: Lines = Field([], description="Key moments so far, one line each (client time).")
    resolved_at: Line = Field("", description="When service was restored (client time).")
    outage_duration: Line = Field("", description="How long the problem lasted, e.g. '2 hours 15 minutes'.")
    root_cause: Text = Field("", description="What caused the problem, in plain words.")
    contributing_factors: Lines = Field([], description="What made it possible or worse.")
    fix_applied: Text = Field("", description="What we changed to fix it.")
    prevention_measures: Lines = Field([], description="What we are doing so it does not happen again.")
    service_credit_amount: Line = Field("", description="Service credit granted, e.g. 'USD 2,500'.")
    service_credit_terms: Line = Field("", description="The credit terms in the client's contract.")
    follow_up_at: Line = Field("", description="Date and time of the follow-up call or review.")
    status_page_url: Line = Field("", description="The link to this incident's public status page, filled when one "
                                  "works (empty if none was published or it was revoked); anyone with it can read it.")
    data_involved: Text = Field("", description="Security incidents: what data may be involved.")
    client_actions: Lines = Field([], description="Steps we recommend the client takes (e.g. rotate keys).")
    request_summary: Text = Field("", description="Legal/compliance: the request we received.")
    response_by: Line = Field("", description="Legal/compliance: when the client will have our response.")
    # Account and people.
    account_name: Line = Field(description="The client company.")
    contact_name: Line = Field("", description="The primary contact's name.")
    contact_names: Lines = Field([], description="Every contact addressed.")
    greeting: Line = Field("", description="Who the message greets (defaults to the contact or the account team).")
    company_name: Line = Field("", description="Our company name, for the signature.")
    csm_name: Line = Field(description="The customer success manager signing the message.")
    csm_title: Line = Field("Customer Success Manager", description="The CSM's job title.")
    csm_email: Line = Field("", description="The CSM's email address.")
    csm_phone: Line = Field("", description="The CSM's direct phone line.")
    technical_lead_name: Line = Field("", description="Engineer leading the technical work.")
    executive_sponsor_name: Line = Field("", description="Executive accountable for the account.")
    executive_sponsor_title: Line = Field("", description="That executive's job title.")
    # Internal only.
    triage_note: Text = Field("", description="The CSM's triage note on the incident record (for the team only).",
                              json_schema_extra=_INTERNAL)
    severity: Line = Field("", description="Severity id, e.g. P0.", json_schema_extra=_INTERNAL)
    tier: Line = Field("", description="Customer tier.", json_schema_extra=_INTERNAL)
    red_status: bool = Field(False, description="Red status.", json_schema_extra=_INTERNAL)
    escalation_category: Line = Field("", description="Escalation category.", json_schema_extra=_INTERNAL)
    escalation_level: Line = Field("", description="Current escalation level.", json_schema_extra=_INTERNAL)
    required_level: Line = Field("", description="Level the incident must reach.", json_schema_extra=_INTERNAL)
    escalation_contacts: Lines = Field([], description="Who to reach at the required level.",
                                       json_schema_extra=_INTERNAL)
    escalation_reason: Text = Field("", description="Why we escalate now.", json_schema_extra=_INTERNAL)
    policy: Line = Field("", description="Escalation policy and version.", json_schema_extra=_INTERNAL)
    triage_reasons: Lines = Field([], description="Why triage gave this severity.", json_schema_extra=_INTERNAL)
    risk_flags: Lines = Field([], description="Red flags from triage.", json_schema_extra=_INTERNAL)
    incident_commander_name: Line = Field("", description="Incident commander.", json_schema_extra=_INTERNAL)
    owner_name: Line = Field("", description="Owner of the incident.", json_schema_extra=_INTERNAL)
    response_team: Lines = Field([], description="People in incident roles.", json_schema_extra=_INTERNAL)
    sla_status: Lines = Field([], description="Each SLA clock and where it stands.", json_schema_extra=_INTERNAL)
    resolution_deadline: Line = Field("", description="Resolution deadline.", json_schema_extra=_INTERNAL)
    last_client_update_at: Line = Field("", description="Last client update sent.", json_schema_extra=_INTERNAL)
    client_updates_sent: int = Field(0, ge=0, description="Client messages sent so far.",
                                     json_schema_extra=_INTERNAL)
    revenue_per_hour: Line = Field("", description="Client revenue lost per hour.", json_schema_extra=_INTERNAL)
    incident_duration: Line = Field("", description="Time since detection (or until resolution).",
                                    json_schema_extra=_INTERNAL)
    financial_impact: Line = Field("", description="Revenue per hour x duration.", json_schema_extra=_INTERNAL)
    annual_contract_value: Line = Field("", description="Annual contract value.", json_schema_extra=_INTERNAL)
    renewal_date: Line = Field("", description="Contract renewal date.", json_schema_extra=_INTERNAL)
    contract_commitment: Line = Field("", description="Response commitment in the contract.",
                                      json_schema_extra=_INTERNAL)
    handoff_notes: Text = Field("", description="Anything the next level must know.", json_schema_extra=_INTERNAL)
    evidence: Lines = Field([], description="Logs, dashboards, tickets (links or notes).",
                            json_schema_extra=_INTERNAL)
    recommendations: Lines = Field([], description="Recommended actions.", json_schema_extra=_INTERNAL)
    decisions_needed: Lines = Field([], description="Decisions asked of the reader.", json_schema_extra=_INTERNAL)

    @model_validator(mode="before")
    @classmethod
    def _default_greeting(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("greeting") or "").strip():
            data = {**data, "greeting": data.get("contact_name") or f"{data.get('account_name', '')} team"}
        return data


CONTEXT_FIELDS: frozenset[str] = frozenset(MessageContext.model_fields)
INTERNAL_FIELDS: frozenset[str] = frozenset(
    name for name, info in MessageContext.model_fields.items()
    if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("audience") == "internal"
)
# Worked out from `now` each time a message is rendered, so the composer never keeps them in a draft.
RENDER_TIME_FIELDS: frozenset[str] = frozenset({"prepared_at", "next_update_at"})
REQUIRED_FIELDS: frozenset[str] = frozenset(
    name for name, info in MessageContext.model_fields.items() if info.is_required()
)


@dataclass(frozen=True)
class FieldHelp:
    """One context field as the template editor shows it."""

    name: str
    description: str
    internal: bool


def context_fields(audience: str = "client") -> list[FieldHelp]:
    """The fields a template for `audience` may use, with their descriptions, in model order."""
    return [FieldHelp(name, info.description or "", name in INTERNAL_FIELDS)
            for name, info in MessageContext.model_fields.items()
            if audience == "internal" or name not in INTERNAL_FIELDS]
