"""Client and internal messages: the template catalog, the context they are filled from, safe rendering.

Every message the app prepares (emails to the client, the phone script, the
internal handoff and briefing) is a Jinja template filled from one
`MessageContext` of plain values. Templates are either the shipped files
named in `templates/catalog.yaml` (loaded by catalog key only) or text that
a person edited in the app, so they are treated as untrusted: they render in
`MessageSandbox` (core.communication.sandbox: strict, no loader, no `safe`
filter, limits on every way a value, a loop or the output could grow),
inside an isolated worker process with hard CPU, memory and time limits
(core.communication.worker). This module must never import streamlit, send
anything, read files other than the shipped templates, render a template in
the app's own process, or let a template reach Python internals; it reads no
clock (build_context takes `now`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from core.communication import worker as template_worker
from core.communication.sandbox import (  # noqa: F401 - part of this module's interface (limits, errors, sandbox)
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_OPERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_PRODUCED_CHARS,
    MAX_RANGE,
    MAX_RENDER_MEGABYTES,
    MAX_RENDER_SECONDS,
    MAX_TEMPLATE_CHARS,
    MAX_VALUE_CHARS,
    MessageSandbox,
    MessageTooLarge,
    RenderError,
    TemplateLimitError,
)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
CATALOG_FILE = TEMPLATE_DIR / "catalog.yaml"


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
# The context a template is filled from.

Text = Annotated[str, StringConstraints(max_length=10_000)]
Line = Annotated[str, StringConstraints(max_length=2_000)]
Lines = Annotated[list[Line], Field(max_length=50)]
_INTERNAL = {"audience": "internal"}


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
    summary: Text = Field("", description="A few sentences on what is going on.")
    severity_label: Line = Field(description="Severity in client words: Critical, High, Medium or Low.")
    status: Line = Field(description="Status in client words, e.g. 'Fix in progress'.")
    is_resolved: bool = Field(False, description="True once the service is restored.")
    prepared_at: Line = Field("", description="When this message was prepared (client time).")
    detected_at: Line = Field(description="When the problem was first detected (client time).")
    client_time_zone: Line = Field(description="The time zone the times are shown in, e.g. Europe/Paris.")
    impact: Text = Field("", description="What is affected, in the client's terms.")
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
    status_page_url: Line = Field("", description="Public status page for this incident.")
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
    if (info.json_schema_extra or {}).get("audience") == "internal"  # type: ignore[union-attr]
)
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


# --------------------------------------------------------------------------
# Rendering (in the isolated worker).


class UnknownTemplate(RenderError):
    """No catalog entry has this key."""


@dataclass(frozen=True)
class RenderedMessage:
    """A filled message: one-line subject, plain text and HTML ('' when the template has no HTML part)."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateSources:
    """The three template texts of one message ('' for a part it does not have)."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateProblem:
    """Something wrong with a template, found when it is checked (part: subject, text or html)."""

    part: str
    line: int | None
    message: str


def render(
    key_or_template: str | TemplateSpec,
    context: MessageContext,
    *,
    subject_src: str | None = None,
    text_src: str | None = None,
    html_src: str | None = None,
) -> RenderedMessage:
    """Fill a catalog template (or an edited version of it: any *_src given replaces that part).

    A key that is not in the catalog renders only when `text_src` is given
    (a template made in the app). The subject is folded onto one line.
    Every part renders in an isolated worker process (core.communication.worker):
    a template that runs past MAX_RENDER_SECONDS or MAX_RENDER_MEGABYTES
    gets a RenderError saying so, and the app's other sessions never wait.
    """
    spec = key_or_template if isinstance(key_or_template, TemplateSpec) else None
    key = spec.key if spec else str(key_or_template)
    if spec is None:
        spec = _catalog_index().get(key)
    if spec is not None:
        shipped = shipped_sources(spec.key)
    elif text_src is not None:
        shipped = TemplateSources("", "", "")
    else:
        raise UnknownTemplate(key, None, f"no template with this key; known keys: {', '.join(_catalog_index())}")
    subject_src = shipped.subject if subject_src is None else subject_src
    text_src = shipped.text if text_src is None else text_src
    html_src = shipped.html if html_src is None else html_src
    variables = context.model_dump()
    labels = _labels(key, spec)
    subject = (template_worker.render_part(html=False, source=subject_src, label=labels["subject"],
                                           variables=variables) if subject_src else "")
    text = template_worker.render_part(html=False, source=text_src, label=labels["text"], variables=variables)
    html = (template_worker.render_part(html=True, source=html_src, label=labels["html"], variables=variables)
            if html_src else "")
    return RenderedMessage(subject=" ".join(subject.split()), text=text, html=html)


def _labels(key: str, spec: TemplateSpec | None) -> dict[str, str]:
    return {
        "subject": f"{key} (subject)",
        "text": spec.text_file if spec else f"{key} (text part)",
        "html": (spec.html_file or f"{key} (HTML part)") if spec else f"{key} (HTML part)",
    }


def missing_fields(key_or_template: str | TemplateSpec, context: MessageContext) -> list[str]:
    """The fields the catalog says this message needs that are still empty in `context`."""
    spec = key_or_template if isinstance(key_or_template, TemplateSpec) else template_spec(key_or_template)
    return [name for name in spec.requires if getattr(context, name) in ("", [], None, 0)]


# --------------------------------------------------------------------------
# Checking a template before it is saved.


def check_template(
    subject_src: str | None,
    text_src: str | None,
    html_src: str | None,
    *,
    audience: Literal["client", "internal"] = "client",
    channel: Literal["email", "phone", "internal"] = "email",
) -> list[TemplateProblem]:
    """Everything wrong with a template: syntax, unknown or internal fields, and failures on sample data."""
    problems: list[TemplateProblem] = []
    if channel == "email" and not (subject_src or "").strip():
        problems.append(TemplateProblem("subject", None, "an email needs a subject"))
    if not (text_src or "").strip():
        problems.append(TemplateProblem("text", None, "the plain-text part is empty"))
    parts = [("subject", subject_src, False), ("text", text_src, False), ("html", html_src, True)]
    for part, source, html in parts:
        if source:
            problems.extend(check_part(part, source, audience=audience))
    return problems


def check_part(part: Literal["subject", "text", "html"], source: str, *,
               audience: Literal["client", "internal"] = "client") -> list[TemplateProblem]:
    """Problems in one part: syntax, filters, unknown or internal fields, then sample renders (in the worker)."""
    found = template_worker.check_part(
        html=part == "html", source=source, label=f"{part} part", fields=CONTEXT_FIELDS,
        internal=INTERNAL_FIELDS if audience == "client" else (), contexts=_sample_variables())
    return [TemplateProblem(part, problem.line, problem.message) for problem in found]


@functools.lru_cache(maxsize=1)
def _sample_variables() -> tuple[dict[str, Any], ...]:
    return (sample_context().model_dump(), minimal_context().model_dump())


# --------------------------------------------------------------------------
# The catalog of shipped templates.

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,63}$")]
TextFile = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.txt\.j2$")]
HtmlFile = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.html\.j2$")]


class TemplateSpec(BaseModel):
    """One message in the catalog: what it is for, where it goes and which fields it needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Key
    title: Annotated[str, StringConstraints(min_length=3, max_length=120)]
    channel: Literal["email", "phone", "internal"]
    audience: Literal["client", "internal"]
    use_when: Annotated[str, StringConstraints(min_length=10, max_length=300)]
    subject: str = ""
    text_file: TextFile
    html_file: HtmlFile | None = None
    requires: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> TemplateSpec:
        if (self.channel == "internal") != (self.audience == "internal"):
            raise ValueError("internal messages use channel 'internal' and audience 'internal'")
        if self.channel == "email" and (not self.subject.strip() or self.html_file is None):
            raise ValueError("an email needs a subject and both a text_file and an html_file")
        if self.channel == "phone" and (self.html_file or self.subject):
            raise ValueError("a phone script has only a text_file (no subject, no html_file)")
        unknown = [name for name in self.requires if name not in CONTEXT_FIELDS]
        if unknown:
            raise ValueError(f"requires unknown fields: {', '.join(unknown)}")
        leaked = [name for name in self.requires if self.audience == "client" and name in INTERNAL_FIELDS]
        if leaked:
            raise ValueError(f"a client message cannot require internal fields: {', '.join(leaked)}")
        return self


class CatalogError(ValueError):
    """templates/catalog.yaml or a template it names is invalid; the message says where."""


@functools.lru_cache(maxsize=1)
def _catalog_index() -> dict[str, TemplateSpec]:
    where = CATALOG_FILE.name
    try:
        raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{where}: cannot be read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("templates"), list):
        raise CatalogError(f"{where}: expected a mapping with a 'templates' list")
    index: dict[str, TemplateSpec] = {}
    for position, entry in enumerate(raw["templates"]):
        try:
            spec = TemplateSpec.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            path = ".".join(str(p) for p in first["loc"])
            raise CatalogError(f"{where}: templates[{position}]{'.' + path if path else ''}: {first['msg']}") from None
        if spec.key in index:
            raise CatalogError(f"{where}: templates[{position}]: key '{spec.key}' appears twice")
        index[spec.key] = spec
        sources = _read_sources(spec)
        problems = check_template(sources.subject, sources.text, sources.html or None,
                                  audience=spec.audience, channel=spec.channel)
        if problems:
            p = problems[0]
            raise CatalogError(f"{where}: template '{spec.key}' ({p.part}, line {p.line}): {p.message}")
    return index


def _read_sources(spec: TemplateSpec) -> TemplateSources:
    def read(name: str | None) -> str:
        if name is None:
            return ""
        path = TEMPLATE_DIR / name
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"{CATALOG_FILE.name}: template '{spec.key}': cannot read {name}: "
                               f"{exc.strerror}") from None
    return TemplateSources(spec.subject, read(spec.text_file), read(spec.html_file))


def catalog() -> list[TemplateSpec]:
    """Every shipped message, in catalog order (validated, every template checked)."""
    return list(_catalog_index().values())


def template_spec(key: str) -> TemplateSpec:
    """The catalog entry of `key`; UnknownTemplate when there is none."""
    spec = _catalog_index().get(key)
    if spec is None:
        raise UnknownTemplate(key, None, f"no template with this key; known keys: {', '.join(_catalog_index())}")
    return spec


@functools.lru_cache(maxsize=64)
def shipped_sources(key: str) -> TemplateSources:
    """The shipped subject, text and HTML of a catalog key (the only way templates are read from disk)."""
    return _read_sources(template_spec(key))


# --------------------------------------------------------------------------
# Building the context from the incident record.


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def client_zone(contacts: Sequence[Any], account: Any) -> ZoneInfo:
    """The primary contact's time zone, else the account's, else UTC."""
    primary = next((c for c in contacts if getattr(c, "is_primary", False)), None)
    return (_zone(getattr(primary, "time_zone", None)) or _zone(getattr(account, "time_zone", None))
            or ZoneInfo("UTC"))


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


def format_duration(span: dt.timedelta) -> str:
    """'2 hours 15 minutes', '45 minutes', '3 days 4 hours' (rounded down to the minute)."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if mins and not days:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts) or "less than a minute"


def describe_cadence(cadence: dt.timedelta) -> str:
    """'every 30 minutes', 'every hour', 'every 4 hours'."""
    if cadence == dt.timedelta(hours=1):
        return "every hour"
    if cadence == dt.timedelta(days=1):
        return "every day"
    return f"every {format_duration(cadence)}"


def format_money(amount: float | Decimal | int, currency: str = "USD") -> str:
    """'USD 24,000' (whole units)."""
    return f"{currency} {round(float(amount)):,}"


def _person_name(person: Any) -> str:
    if person is None:
        return ""
    if isinstance(person, str):
        return person
    return getattr(person, "display_name", None) or getattr(person, "name", None) or ""


def _policy_of(incident: Any) -> Any:
    snapshot = getattr(incident, "policy_snapshot", None)
    if not snapshot:
        return None
    from core.policy.schema import stored_policy  # local: only build_context needs the policy model

    try:
        return stored_policy(snapshot)
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


def _next_update(incident: Any, policy: Any, clocks: Sequence[Any], now: dt.datetime) -> tuple[
        dt.datetime | None, dt.timedelta | None]:
    """When the next client update falls due if this message goes out now, and the cadence."""
    cadence = next((c.target for c in clocks if c.clock == "client_update"), None)
    if cadence is None and policy is not None:
        tier = (getattr(incident, "answers", None) or {}).get("customer_tier") or getattr(
            getattr(incident, "account", None), "tier", None)
        cadence = policy.target("client_update", incident.severity, tier)
    if cadence is None or getattr(incident, "resolved_at", None) is not None:
        return None, cadence
    if policy is not None:
        from core.policy.calendar import add_working_time

        due = add_working_time(now, cadence, policy.calendar_for("client_update"))
    else:
        due = now + cadence
    # Promise a round time no later than the deadline (never earlier than now).
    rounded = due.replace(second=0, microsecond=0) - dt.timedelta(minutes=due.minute % 5)
    return (rounded if rounded > now else due), cadence


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
    overrides: Mapping[str, Any] | None = None,
) -> MessageContext:
    """Fill a MessageContext from the incident record; `overrides` (what the CSM typed) win.

    Inputs are the ORM rows as the caller loaded them, or any objects with
    the same attribute names: `incident` an `Incident` (its `policy_snapshot`
    gives the update cadence, calendar and level names), `account` an
    `Account`, `contacts` its `Contact` rows (the primary one's zone is used,
    else the account's), `csm` the owning `User` or None, `assignments` a
    mapping of role key (incident_commander, technical_lead,
    executive_sponsor, ...) to a `User` or a plain name, `communications` the
    incident's `Communication` rows, `clocks` the `SlaClock` list from
    `core.sla.clocks.compute_clocks` at `now`. `overrides` maps MessageContext
    field names to values (unknown names are refused). The next update is
    due one client-update cadence after `now` (the moment this message goes
    out), on the policy's calendar, rounded down to five minutes.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown message fields: {', '.join(unknown)}")
    zone = client_zone(contacts, account)

    def fmt(moment: dt.datetime | None) -> str:
        return format_time(moment, zone)

    answers: Mapping[str, Any] = getattr(incident, "answers", None) or {}
    policy = _policy_of(incident)
    status = str(getattr(incident, "status", "new"))
    resolved_at = getattr(incident, "resolved_at", None)
    detected_at = incident.detected_at
    roles = {role: _person_name(person) for role, person in (assignments or {}).items()}
    primary = next((c for c in contacts if getattr(c, "is_primary", False)), contacts[0] if contacts else None)
    contract = getattr(account, "contract_terms", None) or {}

    actions = []
    for column, _, wording in MILESTONE_WORDS:
        moment = getattr(incident, column, None)
        if wording and moment is not None:
            actions.append(wording.format(time=fmt(moment)))
        if column == "mobilized_at" and roles.get("technical_lead"):
            actions.append(f"{roles['technical_lead']} is leading the technical work.")
    timeline = [f"{fmt(getattr(incident, column))} - {label}"
                for column, label, _ in MILESTONE_WORDS if getattr(incident, column, None) is not None]

    client_comms = [c for c in communications
                    if getattr(c, "channel", "") in ("email", "phone") and getattr(c, "delivery", "sent") != "failed"]
    last_update = max((c.sent_at for c in client_comms), default=None)
    next_update, cadence = _next_update(incident, policy, clocks, now)

    duration = (resolved_at or now) - detected_at
    revenue = answers.get("revenue_impact_per_hour")
    users_pct = answers.get("users_affected_pct")
    acv = getattr(account, "annual_contract_value", None)
    renewal = getattr(account, "renewal_date", None)
    resolution_clock = next((c for c in clocks if c.clock == "resolution"), None)
    credits = str(contract.get("service_credits") or "")
    triage_reasons = [r.get("text", "") for r in (getattr(incident, "triage_result", None) or {}).get("reasons", [])
                      if isinstance(r, dict) and r.get("text")]

    values: dict[str, Any] = {
        "incident_ref": f"INC-{incident.id}",
        "title": incident.title,
        "summary": getattr(incident, "summary", "") or "",
        "severity_label": CLIENT_SEVERITY.get(incident.severity, incident.severity),
        "status": CLIENT_STATUS.get(status, status.capitalize()),
        "is_resolved": resolved_at is not None,
        "prepared_at": fmt(now),
        "detected_at": fmt(detected_at),
        "client_time_zone": zone.key,
        "impact": getattr(incident, "summary", "") or "",
        "business_impact": BUSINESS_IMPACT_TEXT.get(str(answers.get("business_impact")), ""),
        "users_affected": f"about {round(float(users_pct))}% of your users" if users_pct else "",
        "actions_taken": actions,
        "current_status": CLIENT_STATUS_TEXT.get(status, ""),
        "next_update_at": fmt(next_update),
        "update_cadence": describe_cadence(cadence) if cadence and resolved_at is None else "",
        "update_number": len(client_comms) + 1,
        "timeline": timeline,
        "resolved_at": fmt(resolved_at),
        "outage_duration": format_duration(resolved_at - detected_at) if resolved_at else "",
        "service_credit_terms": "" if credits.strip().lower() in ("", "none") else credits,
        "account_name": account.name,
        "contact_name": _person_name(primary),
        "contact_names": [_person_name(c) for c in contacts if _person_name(c)],
        "csm_name": _person_name(csm) or "Customer Success team",
        "csm_email": getattr(csm, "email", "") or "",
        "technical_lead_name": roles.get("technical_lead", ""),
        "executive_sponsor_name": roles.get("executive_sponsor", ""),
        # internal
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
        "client_updates_sent": len(client_comms),
        "incident_duration": format_duration(duration),
        "revenue_per_hour": format_money(revenue) if revenue else "",
        "financial_impact": (f"about {format_money(float(revenue) * duration.total_seconds() / 3600)} "
                             f"({format_money(revenue)} per hour for {format_duration(duration)})"
                             if revenue else ""),
        "annual_contract_value": format_money(acv) if acv else "",
        "renewal_date": f"{renewal.day} {renewal:%b %Y}" if renewal else "",
        "contract_commitment": str(contract.get("response_commitment") or ""),
    }
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
