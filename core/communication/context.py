"""Building a message context from the incident record, in the client's words and time zone.

`build_context` turns an incident, its account, contacts, people, logged
messages and SLA clocks into one `MessageContext` (core.communication.fields)
of plain values: times formatted in the client's zone with its abbreviation,
statuses and severities in client words, the next update promised from the
communication plan (core.communication.promise). Client fields are filled
from the client-safe values of the record only (core.incident.audience):
internal notes fill internal fields, which client templates are refused. The
sample contexts used for previews and template checks live here too. This
module must never import streamlit, write anything, or read the clock
(build_context takes `now`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from core.communication.fields import CONTEXT_FIELDS, MessageContext
from core.communication.promise import PromisedUpdate, promise_next_update
from core.incident.audience import ClientValues, client_values
from core.policy.loading import snapshot_policy
from core.sla.facts import policy_of
from core.text import describe_duration
from core.zones import UTC_NAME, zone_or_none
from db.models import Incident

CLIENT_SEVERITY: dict[str, str] = {"P0": "Critical", "P1": "High", "P2": "Medium", "P3": "Low"}
# Status words a client understands (the lifecycle's own labels are for the team).
CLIENT_STATUS: dict[str, str] = {
    "new": "Investigating",
    "acknowledged": "Investigating",
    "mobilized": "Fix in progress",
    "mitigated": "Workaround in place",
    "resolved": "Resolved",
    "closed": "Resolved",
    "reopened": "Investigating again",
}
CLIENT_STATUS_TEXT: dict[str, str] = {
    "new": "We are investigating the cause.",
    "acknowledged": "We are investigating the cause.",
    "mobilized": "Our engineers are working on a fix.",
    "mitigated": "A workaround is in place while we work on a permanent fix.",
    "resolved": "The issue is resolved and the service is working normally.",
    "closed": "The issue is resolved and the service is working normally.",
    "reopened": "The problem came back and we are investigating it again.",
}
BUSINESS_IMPACT_TEXT: dict[str, str] = {
    "stopped": "Work that depends on the affected service cannot go ahead.",
    "major": "Work can continue, but the affected service is slowing it down considerably.",
    "minor": "Work can continue with some inconvenience.",
}
RISK_FLAGS: dict[str, str] = {
    "complete_outage": "Complete outage",
    "security_breach": "Possible security breach",
    "data_loss": "Data loss",
    "data_integrity": "Data integrity in doubt",
    "payment_failure": "Payment processing failing",
    "legal_compliance": "Legal or compliance implications",
    "termination_threat": "Client has mentioned ending the contract",
    "public_reputation_risk": "Public reputation risk",
    "multiple_components_failed": "Several components failed",
    "management_requested": "Client asked for management involvement",
}
# Milestone column -> (client-facing timeline wording, action wording with {time}).
MILESTONE_WORDS: tuple[tuple[str, str, str | None], ...] = (
    ("detected_at", "Problem detected", None),
    ("acknowledged_at", "Our team took ownership", "Our team took ownership of the issue at {time}."),
    ("client_notified_at", "Your team was notified", None),
    ("mobilized_at", "Engineers assigned full-time", "Engineers have worked on it full-time since {time}."),
    ("mitigated_at", "Workaround in place", "A workaround has been in place since {time}."),
    ("resolved_at", "Service restored", None),
)


# --------------------------------------------------------------------------
# Building the context from the incident record.


def client_zone(client: ClientValues) -> ZoneInfo:
    """The primary contact's time zone, else the account's, else UTC."""
    primary = next((c for c in client.contacts if c["is_primary"]), None)
    return (zone_or_none(primary["time_zone"] if primary else None) or zone_or_none(client.account["time_zone"])
            or ZoneInfo(UTC_NAME))


def format_time(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    """'Mon 2 Mar 2026, 10:00 CET': a UTC instant shown in `zone` with its abbreviation."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: pass timezone-aware UTC times")
    local = moment.astimezone(zone)
    abbrev = local.tzname() or zone.key
    if abbrev[:1] in "+-":
        abbrev = f"UTC{abbrev}"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {abbrev}"


def describe_cadence(cadence: dt.timedelta) -> str:
    """'every 30 minutes', 'every hour', 'every 4 hours'."""
    if cadence == dt.timedelta(hours=1):
        return "every hour"
    if cadence == dt.timedelta(days=1):
        return "every day"
    return f"every {describe_duration(cadence)}"


def format_money(amount: float | Decimal | int, currency: str = "USD") -> str:
    """'USD 24,000' (whole units)."""
    return f"{currency} {round(float(amount)):,}"


def _person_name(person: Any) -> str:
    if person is None:
        return ""
    if isinstance(person, str):
        return person
    if isinstance(person, Mapping):
        return str(person.get("name") or "")
    return getattr(person, "display_name", None) or getattr(person, "name", None) or ""


def _policy_of(incident: Any) -> Any:
    try:
        if isinstance(incident, Incident):
            # Parsed once per stored snapshot, not once per message.
            return policy_of(incident) if incident.snapshot is not None else None
        snapshot = getattr(incident, "policy_snapshot", None)
        return snapshot_policy(snapshot) if snapshot else None
    except ValidationError:
        return None


def _level_name(policy: Any, level: str | None) -> str:
    if not level:
        return ""
    for item in getattr(policy, "escalation_levels", ()) if policy else ():
        if item.id == level:
            return f"{level} ({item.name})"
    return level


def _level_contacts(policy: Any, level: str | None) -> list[str]:
    for item in getattr(policy, "escalation_levels", ()) if policy and level else ():
        if item.id == level:
            return [", ".join(x for x in (f"{c.role}: {c.name}" if c.name else c.role, c.phone, c.email,
                                          c.channel) if x) for c in item.contacts]
    return []


def _cadence(incident: Any, policy: Any, clocks: Sequence[Any]) -> dt.timedelta | None:
    """How often the client hears from us: the running update clock's target, else the policy's."""
    cadence = next((c.target for c in clocks if c.clock == "client_update"), None)
    if cadence is None and policy is not None:
        tier = (getattr(incident, "answers", None) or {}).get("customer_tier") or getattr(
            getattr(incident, "account", None), "tier", None)
        cadence = policy.target("client_update", incident.severity, tier)
    return cadence


@dataclass(frozen=True)
class _Shared:
    """What both halves of the context are computed from, besides the record."""

    zone: ZoneInfo
    now: dt.datetime
    roles: dict[str, str]
    client_messages: list[Any]

    def fmt(self, moment: dt.datetime | None) -> str:
        return format_time(moment, self.zone)


def _client_fields(client: ClientValues, shared: _Shared, *, csm: Any, cadence: dt.timedelta | None,
                   promise: PromisedUpdate) -> dict[str, Any]:
    """The fields a client message may show, from the client-safe values only (never the raw rows)."""
    incident, account, fmt, roles = client.incident, client.account, shared.fmt, shared.roles
    answers = incident["answers"]
    status = str(incident["status"] or "new")
    resolved_at, detected_at = incident["resolved_at"], incident["detected_at"]
    actions = []
    for column, _, wording in MILESTONE_WORDS:
        moment = incident[column]
        if wording and moment is not None:
            actions.append(wording.format(time=fmt(moment)))
        if column == "mobilized_at" and roles.get("technical_lead"):
            actions.append(f"{roles['technical_lead']} is leading the technical work.")
    users_pct = answers.get("users_affected_pct")
    credits = str(account["contract_terms"].get("service_credits") or "")
    return {
        "incident_ref": f"INC-{incident['id']}",
        "title": incident["title"],
        # Written by the CSM for the client; the record's summary is the internal triage note.
        "summary": "",
        "impact": "",
        "severity_label": CLIENT_SEVERITY.get(incident["severity"], incident["severity"]),
        "status": CLIENT_STATUS.get(status, status.capitalize()),
        "is_resolved": resolved_at is not None,
        "prepared_at": fmt(shared.now),
        "detected_at": fmt(detected_at),
        "client_time_zone": shared.zone.key,
        "business_impact": BUSINESS_IMPACT_TEXT.get(str(answers.get("business_impact")), ""),
        "users_affected": f"about {round(float(users_pct))}% of your users" if users_pct else "",
        "actions_taken": actions,
        "current_status": CLIENT_STATUS_TEXT.get(status, ""),
        "next_update_at": fmt(promise.at),
        "update_cadence": describe_cadence(cadence) if cadence and resolved_at is None else "",
        "update_number": len(shared.client_messages) + 1,
        "timeline": [f"{fmt(incident[column])} - {label}"
                     for column, label, _ in MILESTONE_WORDS if incident[column] is not None],
        "resolved_at": fmt(resolved_at),
        "outage_duration": describe_duration(resolved_at - detected_at) if resolved_at else "",
        "service_credit_terms": "" if credits.strip().lower() in ("", "none") else credits,
        "account_name": account["name"],
        "contact_name": _person_name(client.primary_contact),
        "contact_names": [_person_name(c) for c in client.contacts if _person_name(c)],
        "csm_name": _person_name(csm) or "Customer Success team",
        "csm_email": getattr(csm, "email", "") or "",
        "technical_lead_name": roles.get("technical_lead", ""),
        "executive_sponsor_name": roles.get("executive_sponsor", ""),
    }


def _internal_fields(incident: Any, account: Any, shared: _Shared, *, policy: Any,
                     clocks: Sequence[Any]) -> dict[str, Any]:
    """The fields only internal messages may show (client templates are refused them when checked)."""
    fmt, roles, now = shared.fmt, shared.roles, shared.now
    answers: Mapping[str, Any] = getattr(incident, "answers", None) or {}
    contract = getattr(account, "contract_terms", None) or {}
    duration = (getattr(incident, "resolved_at", None) or now) - incident.detected_at
    revenue = answers.get("revenue_impact_per_hour")
    acv = getattr(account, "annual_contract_value", None)
    renewal = getattr(account, "renewal_date", None)
    resolution_clock = next((c for c in clocks if c.clock == "resolution"), None)
    last_update = max((c.sent_at for c in shared.client_messages), default=None)
    triage_reasons = [r.get("text", "") for r in (getattr(incident, "triage_result", None) or {}).get("reasons", [])
                      if isinstance(r, dict) and r.get("text")]
    return {
        "triage_note": getattr(incident, "summary", "") or "",
        "severity": incident.severity,
        "tier": str(answers.get("customer_tier") or getattr(account, "tier", "") or ""),
        "red_status": bool(getattr(incident, "red_status", False)),
        "escalation_category": str(getattr(incident, "escalation_category", "") or ""),
        "escalation_level": _level_name(policy, getattr(incident, "current_level", None)),
        "required_level": _level_name(policy, getattr(incident, "required_level", None)),
        "escalation_contacts": _level_contacts(policy, getattr(incident, "required_level", None)
                                               or getattr(incident, "current_level", None)),
        "policy": (f"{incident.policy_name} v{incident.policy_version}"
                   if getattr(incident, "policy_name", None) else ""),
        "triage_reasons": triage_reasons[:50],
        "risk_flags": [label for flag, label in RISK_FLAGS.items() if answers.get(flag) is True],
        "incident_commander_name": roles.get("incident_commander", ""),
        "owner_name": _person_name(getattr(incident, "owner", None)),
        "response_team": [f"{policy.role_title(role) if policy else role.replace('_', ' ').capitalize()}: {name}"
                          for role, name in roles.items() if name],
        "sla_status": [f"{c.label}: {c.state} (due {fmt(c.deadline)})" for c in clocks][:50],
        "resolution_deadline": fmt(resolution_clock.deadline) if resolution_clock else "",
        "last_client_update_at": fmt(last_update),
        "client_updates_sent": len(shared.client_messages),
        "incident_duration": describe_duration(duration),
        "revenue_per_hour": format_money(revenue) if revenue else "",
        "financial_impact": (f"about {format_money(float(revenue) * duration.total_seconds() / 3600)} "
                             f"({format_money(revenue)} per hour for {describe_duration(duration)})"
                             if revenue else ""),
        "annual_contract_value": format_money(acv) if acv else "",
        "renewal_date": f"{renewal.day} {renewal:%b %Y}" if renewal else "",
        "contract_commitment": str(contract.get("response_commitment") or ""),
    }


def build_context(
    *,
    incident: Any,
    account: Any,
    contacts: Sequence[Any] = (),
    csm: Any = None,
    assignments: Mapping[str, Any] | None = None,
    communications: Sequence[Any] = (),
    clocks: Sequence[Any] = (),
    now: dt.datetime,
    next_update_due: dt.datetime | None = None,
    overrides: Mapping[str, Any] | None = None,
    status_page_url: str = "",
) -> MessageContext:
    """Fill a MessageContext from the incident record at `now`; `overrides` (what the CSM typed) win.

    Inputs are the ORM rows as the caller loaded them, or any objects with
    the same attribute names: `incident` an `Incident` (its `policy_snapshot`
    gives the update cadence and level names), `account` an `Account`,
    `contacts` its `Contact` rows (the primary one's zone is used, else the
    account's), `csm` the owning `User` or None, `assignments` a mapping of
    role key (incident_commander, technical_lead, executive_sponsor, ...) to a
    `User` or a plain name, `communications` the incident's `Communication`
    rows, `clocks` the `SlaClock` list from `core.sla.clocks.compute_clocks`
    at `now`, `next_update_due` when the communication plan wants the next
    client update if this message goes out at `now`
    (`core.sla.schedule.next_due_if_sent`; None: no update is planned).
    `overrides` maps MessageContext field names to values (unknown names are
    refused). `status_page_url` is the incident's status page link when it has one
    that works (`core.statuspage.views.current_url`, worked out by the caller,
    which sits above this package), else "".

    Client fields are filled from `core.incident.audience.client_values` only:
    the record's summary (the CSM's triage note) fills the internal
    `triage_note`, never `summary` or `impact`, which start empty. The next
    update promised is `core.communication.promise.promise_next_update` of the
    plan's time at `now`.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown message fields: {', '.join(unknown)}")
    client = client_values(incident, account, contacts)
    policy = _policy_of(incident)
    shared = _Shared(
        zone=client_zone(client), now=now,
        roles={role: _person_name(person) for role, person in (assignments or {}).items()},
        client_messages=[c for c in communications if getattr(c, "channel", "") in ("email", "phone")
                         and getattr(c, "delivery", "sent") != "failed"])
    resolved = client.incident["resolved_at"] is not None
    promise = promise_next_update(None if resolved else next_update_due, now)
    values = {**_client_fields(client, shared, csm=csm, cadence=_cadence(incident, policy, clocks), promise=promise),
              **_internal_fields(incident, account, shared, policy=policy, clocks=clocks)}
    values["status_page_url"] = status_page_url
    values.update(overrides)
    return MessageContext.model_validate(values)


# --------------------------------------------------------------------------
# Sample data, for previews and for checking a template before it is saved.


def minimal_context() -> MessageContext:
    """A context with only the required fields: every optional part of a template must cope with it."""
    return MessageContext(
        incident_ref="INC-1", title="Service problem", severity_label="High", status="Investigating",
        detected_at="Mon 2 Mar 2026, 09:00 UTC", client_time_zone="UTC", account_name="Example Ltd",
        csm_name="Customer Success team",
    )


def sample_context() -> MessageContext:
    """A fully filled example (a critical outage at a fictional client) for previews."""
    return MessageContext(
        incident_ref="INC-1042", title="Order exports failing", severity_label="Critical",
        status="Fix in progress", is_resolved=False, prepared_at="Mon 2 Mar 2026, 10:40 CET",
        summary="Scheduled order exports to the warehouse system have failed since 09:12.",
        detected_at="Mon 2 Mar 2026, 09:12 CET", client_time_zone="Europe/Paris",
        impact="Orders placed since 09:12 are not reaching your warehouse system.",
        business_impact=BUSINESS_IMPACT_TEXT["stopped"], users_affected="about 80% of your users",
        affected_services=["Order export", "Warehouse sync"],
        workaround="Download the order file from Reports > Orders and upload it to the warehouse portal.",
        actions_taken=["Our team took ownership of the issue at Mon 2 Mar 2026, 09:20 CET.",
                       "Engineers have worked on it full-time since Mon 2 Mar 2026, 09:35 CET."],
        current_status="Our engineers are working on a fix.", next_update_at="Mon 2 Mar 2026, 11:40 CET",
        update_cadence="every hour", update_number=2, estimated_resolution="by 14:00 CET today",
        timeline=["Mon 2 Mar 2026, 09:12 CET - Problem detected",
                  "Mon 2 Mar 2026, 09:20 CET - Our team took ownership"],
        resolved_at="Mon 2 Mar 2026, 13:05 CET", outage_duration="3 hours 53 minutes",
        root_cause="A certificate used by the export connection expired.",
        contributing_factors=["The renewal reminder went to a mailbox nobody monitors."],
        fix_applied="We installed a renewed certificate and re-sent every delayed export.",
        prevention_measures=["Certificates are now renewed automatically 30 days before expiry.",
                             "Expiry alerts go to the on-call engineer."],
        service_credit_amount="USD 2,500", service_credit_terms="10% of the monthly fee per hour beyond SLA",
        follow_up_at="Wed 4 Mar 2026, 15:00 CET", status_page_url="https://status.example.com/inc-1042",
        data_involved="Order numbers and delivery addresses.",
        client_actions=["Rotate the API key used by your warehouse integration."],
        request_summary="A request to confirm how long order data is kept.",
        response_by="Fri 6 Mar 2026, 17:00 CET",
        account_name="Acme Retail", contact_name="Ana Martin", contact_names=["Ana Martin", "IT Service Desk"],
        company_name="Example Software", csm_name="Sam Lee", csm_email="sam.lee@example.com",
        csm_phone="+1 555 0100", technical_lead_name="Priya Shah", executive_sponsor_name="Jordan Blake",
        executive_sponsor_title="VP Customer Success",
        triage_note="Client's CEO called our VP directly; very unhappy about the last outage too.",
        severity="P0", tier="enterprise", red_status=True, escalation_category="immediate",
        escalation_level="L2 (Management)", required_level="L3 (Executive)",
        escalation_contacts=["VP Customer Success: Jordan Blake, +1 555 0177"],
        escalation_reason="Still unresolved after two hours with the client's business stopped.",
        policy="red-status v1", triage_reasons=["Customer business is stopped"],
        risk_flags=["Complete outage"], incident_commander_name="Kim Ortiz", owner_name="Sam Lee",
        response_team=["Technical lead: Priya Shah"], sla_status=["Resolve: running (due Mon 2 Mar 2026, 13:12 CET)"],
        resolution_deadline="Mon 2 Mar 2026, 13:12 CET", last_client_update_at="Mon 2 Mar 2026, 09:40 CET",
        client_updates_sent=1, revenue_per_hour="USD 8,000", incident_duration="1 hour 28 minutes",
        financial_impact="about USD 11,733 (USD 8,000 per hour for 1 hour 28 minutes)",
        annual_contract_value="USD 240,000", renewal_date="1 Sep 2026",
        contract_commitment="1 hour, 24/7", handoff_notes="Client asked for a call with engineering.",
        evidence=["Export job log: jobs 5512-5530 failed with TLS handshake errors"],
        recommendations=["Credit the client for the hours beyond the SLA."],
        decisions_needed=["Approve the service credit."],
    )
