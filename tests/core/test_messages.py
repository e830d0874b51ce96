"""Message templates: the catalog, the context built from the record, the sandbox and its limits.

Goldens: tests/core/golden/<key>.{subject.txt,txt,html}; rewrite them with
UPDATE_GOLDEN=1 after an intended wording change, and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import TemplateError
from markupsafe import escape

from core.communication.catalog import (
    TemplateSpec,
    UnknownTemplate,
    catalog,
    check_template,
    shipped_sources,
    template_spec,
)
from core.communication.context import (
    BUSINESS_IMPACT_TEXT,
    build_context,
    minimal_context,
    sample_context,
)
from core.communication.fields import INTERNAL_FIELDS, REQUIRED_FIELDS, MessageContext, context_fields
from core.communication.render import missing_fields, render
from core.communication.sandbox import MessageSandbox, MessageTooLarge, RenderError, TemplateLimitError
from core.policy.store import snapshot_hash
from core.sla.clocks import SlaClock
from core.text import describe_duration
from core.vocabulary import ClockState
from db.models import Account, Communication, Contact, Incident, PolicySnapshot, User
from tests.core.hostile_templates import INERT, QUICK

UTC = dt.UTC
GOLDEN = Path(__file__).parent / "golden"
REQUIRED_KEYS = {
    "phone_script", "emergency_acknowledgement", "p1_response", "status_update", "resolution_root_cause",
    "recovery_service_credits", "post_resolution_follow_up", "security_incident_notification",
    "service_outage_alert", "legal_compliance_acknowledgement", "internal_escalation_handoff",
    "executive_briefing",
}
SEVERITIES = {"P0": "Critical", "P1": "High", "P2": "Medium", "P3": "Low"}


def _policy_snapshot() -> dict:
    severities = [{"id": s, "label": label, "definition": "d", "section": "s"} for s, label in SEVERITIES.items()]

    def level(level_id: str, name: str, contacts: tuple = ()) -> dict:
        return {"id": level_id, "name": name, "summary": "s", "section": "s", "contacts": list(contacts)}

    return {
        "name": "test-policy", "title": "Test", "source": "tests", "description": "d", "severities": severities,
        "default": {"severity": "P3", "reason": "r", "section": "s"},
        "targets": {"P0": {"client_update": "30m"}, "P1": {"client_update": "1h"}},
        "escalation_levels": [level("L1", "Support"), level("L2", "Senior support"),
                              level("L3", "Management", ({"role": "Engineering Manager", "name": "Lee Chen",
                                                          "phone": "+1 555 0188"},))],
    }


def _stored(body: dict) -> PolicySnapshot:
    return PolicySnapshot(content_hash=snapshot_hash(body), body=body)


def _record(severity: str = "P0", *, resolved: bool = False, policy: bool = False, contact_zone: str = "Europe/Paris",
            primary: bool = True, account_zone: str = "America/New_York"):
    """A transient incident record (real ORM classes, no database)."""
    account = Account(id=7, name="Acme Retail", tier="enterprise", time_zone=account_zone,
                      annual_contract_value=Decimal("240000"), renewal_date=dt.date(2026, 9, 1),
                      contract_terms={"service_credits": "10% of the monthly fee per hour beyond SLA",
                                      "response_commitment": "1 hour, 24/7"})
    contacts = [Contact(name="Ana Martin", email="ana@acme.example", time_zone=contact_zone, is_primary=primary),
                Contact(name="IT Service Desk", email="it@acme.example", time_zone="Asia/Tokyo", is_primary=False)]
    incident = Incident(
        id=1042, title="Order exports failing", summary="Orders placed since 09:12 are not reaching your warehouse.",
        account_id=7, policy_name="test-policy", policy_version=3,
        snapshot=_stored(_policy_snapshot()) if policy else None, severity=severity, status="mobilized",
        answers={"business_impact": "stopped", "revenue_impact_per_hour": 8000, "users_affected_pct": 80,
                 "termination_threat": True, "customer_tier": "enterprise"},
        triage_result={"reasons": [{"text": "Customer business is stopped", "rule_id": "r-stop"}]},
        red_status=severity == "P0", escalation_category="immediate", required_level="L3", current_level="L2",
        detected_at=dt.datetime(2026, 3, 2, 8, 12, tzinfo=UTC),
        acknowledged_at=dt.datetime(2026, 3, 2, 8, 20, tzinfo=UTC),
        client_notified_at=dt.datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        mobilized_at=dt.datetime(2026, 3, 2, 8, 35, tzinfo=UTC),
        resolved_at=dt.datetime(2026, 3, 2, 11, 12, tzinfo=UTC) if resolved else None,
    )
    if resolved:
        incident.status = "resolved"
    csm = User(display_name="Sam Lee", email="sam.lee@example.com", username="sam", role="csm")
    lead = User(display_name="Priya Shah", email="priya.internal@example.com", username="priya", role="csm")
    comms = [Communication(channel="email", sent_at=dt.datetime(2026, 3, 2, 8, 30, tzinfo=UTC), body_text="x"),
             Communication(channel="internal", sent_at=dt.datetime(2026, 3, 2, 8, 31, tzinfo=UTC), body_text="x")]
    return incident, account, contacts, csm, {"technical_lead": lead, "incident_commander": "Kim Ortiz"}, comms


def _clock(now: dt.datetime, target: dt.timedelta = dt.timedelta(hours=1)) -> list[SlaClock]:
    start = dt.datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    return [SlaClock("client_update", "Next client update", target, start, start + target, None, ClockState.RUNNING),
            SlaClock("resolution", "Resolve", dt.timedelta(hours=4), start, start + dt.timedelta(hours=4), None,
                     ClockState.RUNNING)]


NOW = dt.datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
GOLDEN_OVERRIDES = {
    "company_name": "Example Software", "csm_phone": "+1 555 0100",
    "workaround": "Download the order file from Reports > Orders and upload it to the warehouse portal.",
    "root_cause": "A certificate used by the export connection expired.",
    "contributing_factors": ["The renewal reminder went to a mailbox nobody monitors."],
    "fix_applied": "We installed a renewed certificate and re-sent every delayed export.",
    "prevention_measures": ["Certificates now renew automatically 30 days before expiry.",
                            "Expiry alerts go to the on-call engineer."],
}


def golden_context(key: str) -> MessageContext:
    """The fixed context each golden file is rendered from (built from a fixed record)."""
    incident, account, contacts, csm, roles, comms = _record(resolved=key == "resolution_root_cause")
    now = dt.datetime(2026, 3, 2, 11, 30, tzinfo=UTC) if key == "resolution_root_cause" else NOW
    return build_context(incident=incident, account=account, contacts=contacts, csm=csm, assignments=roles,
                         communications=comms, clocks=_clock(now), now=now, next_update_due=now + dt.timedelta(hours=1),
                         overrides=GOLDEN_OVERRIDES)


def severity_context(severity: str) -> MessageContext:
    """A full sample context for one severity preset."""
    base = sample_context()
    return base.model_copy(update={"severity": severity, "severity_label": SEVERITIES[severity],
                                   "red_status": severity == "P0"})


# --------------------------------------------------------------------------
# Catalog


def test_catalog_has_every_required_message():
    specs = {spec.key: spec for spec in catalog()}
    assert set(specs) >= REQUIRED_KEYS
    assert specs["phone_script"].channel == "phone" and specs["phone_script"].html_file is None
    assert {specs["internal_escalation_handoff"].audience, specs["executive_briefing"].audience} == {"internal"}
    for spec in specs.values():
        if spec.channel == "email":
            assert spec.subject and spec.html_file, spec.key
        assert spec.use_when and spec.title


@pytest.mark.parametrize("spec", catalog(), ids=lambda s: s.key)
def test_every_shipped_template_checks_clean(spec):
    sources = shipped_sources(spec.key)
    assert check_template(sources.subject, sources.text, sources.html or None,
                          audience=spec.audience, channel=spec.channel) == []


@pytest.mark.parametrize(
    "change, error",
    [
        ({"html_file": None}, "an email needs a subject and both"),
        ({"subject": ""}, "an email needs a subject and both"),
        ({"channel": "phone"}, "a phone script has only a text_file"),
        ({"audience": "internal"}, "internal messages use channel 'internal'"),
        ({"requires": ["root_causes"]}, "requires unknown fields: root_causes"),
        ({"requires": ["financial_impact"]}, "cannot require internal fields: financial_impact"),
        ({"text_file": "../../etc/passwd"}, "String should match pattern"),
        ({"html_file": "/etc/passwd.html.j2"}, "String should match pattern"),
        ({"key": "Bad Key"}, "String should match pattern"),
        ({"extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_catalog_entries_are_validated(change, error):
    entry = template_spec("status_update").model_dump() | change
    with pytest.raises(ValueError, match=re.escape(error)):
        TemplateSpec.model_validate(entry)


# --------------------------------------------------------------------------
# Every template renders for every severity, full and minimal


@pytest.mark.parametrize("severity", list(SEVERITIES))
@pytest.mark.parametrize("spec", catalog(), ids=lambda s: s.key)
def test_every_template_renders_for_every_severity(spec, severity):
    context = severity_context(severity)
    message = render(spec.key, context)
    assert message.text.strip()
    assert (message.html != "") == (spec.html_file is not None)
    assert (message.subject != "") == bool(spec.subject)
    assert "\n" not in message.subject
    for part in (message.subject, message.text, message.html):
        assert "Undefined" not in part and "None" not in part
    assert context.title in message.text
    assert missing_fields(spec, context) == []


@pytest.mark.parametrize("spec", catalog(), ids=lambda s: s.key)
def test_every_template_renders_with_only_required_fields(spec):
    context = minimal_context()
    message = render(spec.key, context)
    assert context.incident_ref in message.subject + message.text
    for part in (message.subject, message.text, message.html):
        assert "Undefined" not in part and "None" not in part
    assert set(missing_fields(spec, context)) == {n for n in spec.requires
                                                           if n not in REQUIRED_FIELDS}


@pytest.mark.parametrize("spec", [s for s in catalog() if s.audience == "client"], ids=lambda s: s.key)
def test_client_templates_never_show_internal_information(spec):
    marked = {}
    for name in INTERNAL_FIELDS:
        default = MessageContext.model_fields[name].default
        if isinstance(default, list):
            marked[name] = [f"SECRET-{name}"]
        elif isinstance(default, str):
            marked[name] = f"SECRET-{name}"
    context = sample_context().model_copy(update=marked)
    message = render(spec.key, context)
    everything = message.subject + message.text + message.html
    assert "SECRET-" not in everything
    for leak in ("L3", "P0", "red-status", "priya.internal@example.com"):
        assert leak not in everything


@pytest.mark.parametrize("spec", [s for s in catalog() if s.audience == "internal"], ids=lambda s: s.key)
def test_internal_templates_show_the_escalation_facts(spec):
    message = render(spec.key, sample_context())
    assert "L3 (Executive)" in message.text
    assert "USD 11,733" in message.text


def test_context_fields_for_client_templates_leave_out_internal_ones():
    client = {f.name for f in context_fields("client")}
    internal = {f.name for f in context_fields("internal")}
    assert client.isdisjoint(INTERNAL_FIELDS)
    assert internal == set(MessageContext.model_fields)
    assert all(f.description for f in context_fields("internal"))


# --------------------------------------------------------------------------
# Goldens


@pytest.mark.parametrize("key", ["emergency_acknowledgement", "status_update", "resolution_root_cause"])
def test_golden_files(key):
    message = render(key, golden_context(key))
    parts = {f"{key}.subject.txt": message.subject + "\n", f"{key}.txt": message.text, f"{key}.html": message.html}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        for name, content in parts.items():
            (GOLDEN / name).write_text(content, encoding="utf-8")
    for name, content in parts.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert content == expected, f"{name} changed; if intended, rerun with UPDATE_GOLDEN=1 and review the diff"


# --------------------------------------------------------------------------
# build_context


def test_build_context_fills_from_the_record():
    incident, account, contacts, csm, roles, comms = _record()
    ctx = build_context(incident=incident, account=account, contacts=contacts, csm=csm, assignments=roles,
                        communications=comms, clocks=_clock(NOW), now=NOW,
                        next_update_due=NOW + dt.timedelta(hours=1))
    assert ctx.incident_ref == "INC-1042"
    # The record's summary is the CSM's triage note: internal, so the client's summary and impact start empty.
    assert (ctx.summary, ctx.impact, ctx.triage_note) == ("", "", incident.summary)
    assert (ctx.severity_label, ctx.status, ctx.severity) == ("Critical", "Fix in progress", "P0")
    assert ctx.detected_at == "Mon 2 Mar 2026, 09:12 CET"
    assert ctx.client_time_zone == "Europe/Paris"
    assert ctx.prepared_at == "Mon 2 Mar 2026, 10:40 CET"
    # next update: the plan's time (10:40 UTC), more than 5 minutes ahead
    assert (ctx.next_update_at, ctx.update_cadence) == ("Mon 2 Mar 2026, 11:40 CET", "every hour")
    assert ctx.update_number == 2 and ctx.client_updates_sent == 1  # the internal note does not count
    assert ctx.last_client_update_at == "Mon 2 Mar 2026, 09:30 CET"
    assert ctx.greeting == ctx.contact_name == "Ana Martin"
    assert ctx.contact_names == ["Ana Martin", "IT Service Desk"]
    assert (ctx.csm_name, ctx.csm_email, ctx.technical_lead_name) == ("Sam Lee", "sam.lee@example.com", "Priya Shah")
    assert ctx.incident_commander_name == "Kim Ortiz"
    assert ctx.business_impact == BUSINESS_IMPACT_TEXT["stopped"]
    assert ctx.users_affected == "about 80% of your users"
    assert ctx.actions_taken == ["Our team took ownership of the issue at Mon 2 Mar 2026, 09:20 CET.",
                                 "Engineers have worked on it full-time since Mon 2 Mar 2026, 09:35 CET.",
                                 "Priya Shah is leading the technical work."]
    assert ctx.timeline[0] == "Mon 2 Mar 2026, 09:12 CET - Problem detected"
    assert ctx.financial_impact == "about USD 11,733 (USD 8,000 per hour for 1 hour 28 minutes)"
    assert (ctx.annual_contract_value, ctx.renewal_date) == ("USD 240,000", "1 Sep 2026")
    assert ctx.risk_flags == ["Client has mentioned ending the contract"]
    assert ctx.triage_reasons == ["Customer business is stopped"]
    assert ctx.resolution_deadline == "Mon 2 Mar 2026, 13:30 CET"
    assert ctx.service_credit_terms == "10% of the monthly fee per hour beyond SLA"
    assert ctx.policy == "test-policy v3"
    assert not ctx.is_resolved and ctx.resolved_at == "" and ctx.outage_duration == ""


@pytest.mark.parametrize(
    "contact_zone, primary, account_zone, expected",
    [
        ("Europe/Paris", True, "America/New_York", "Mon 2 Mar 2026, 09:12 CET"),
        ("Europe/Paris", False, "America/New_York", "Mon 2 Mar 2026, 03:12 EST"),  # no primary: account zone
        ("Asia/Dubai", True, "UTC", "Mon 2 Mar 2026, 12:12 UTC+04"),
        ("Not/AZone", True, "Asia/Kolkata", "Mon 2 Mar 2026, 13:42 IST"),
        ("Not/AZone", True, "", "Mon 2 Mar 2026, 08:12 UTC"),
    ],
)
def test_times_are_shown_in_the_clients_zone(contact_zone, primary, account_zone, expected):
    incident, account, contacts, csm, *_ = _record(contact_zone=contact_zone, primary=primary,
                                                 account_zone=account_zone)
    ctx = build_context(incident=incident, account=account, contacts=contacts, csm=csm, now=NOW)
    assert ctx.detected_at == expected


def test_the_cadence_follows_the_policy_when_no_clock_runs_and_without_a_plan_nothing_is_promised():
    incident, account, contacts, csm, *_ = _record(policy=True)
    ctx = build_context(incident=incident, account=account, contacts=contacts, csm=csm, now=NOW)
    assert (ctx.next_update_at, ctx.update_cadence) == ("", "every 30 minutes")
    assert ctx.required_level == "L3 (Management)" and ctx.escalation_level == "L2 (Senior support)"
    assert ctx.escalation_contacts == ["Engineering Manager: Lee Chen, +1 555 0188"]


@pytest.mark.parametrize(
    "plan_due, expected",
    [
        (dt.datetime(2026, 3, 2, 10, 40, tzinfo=UTC), "Mon 2 Mar 2026, 11:40 CET"),  # the plan's time
        (dt.datetime(2026, 3, 2, 9, 44, tzinfo=UTC), "Mon 2 Mar 2026, 10:55 CET"),   # 4 min ahead: now + 15 min
        (dt.datetime(2026, 3, 2, 9, 5, tzinfo=UTC), "Mon 2 Mar 2026, 10:55 CET"),    # already past: now + 15 min
        (None, ""),                                                                   # no plan: no promise
    ],
)
def test_the_promised_next_update_is_never_in_the_past(plan_due, expected):
    incident, account, contacts, *_ = _record()
    ctx = build_context(incident=incident, account=account, contacts=contacts, now=NOW, clocks=_clock(NOW),
                        next_update_due=plan_due)
    assert ctx.next_update_at == expected


def test_a_resolved_incident_promises_no_further_update():
    incident, account, contacts, *_ = _record(resolved=True)
    now = dt.datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    ctx = build_context(incident=incident, account=account, contacts=contacts, now=now, clocks=_clock(now),
                        next_update_due=now + dt.timedelta(hours=1))
    assert ctx.is_resolved and ctx.status == "Resolved"
    assert (ctx.next_update_at, ctx.update_cadence) == ("", "")
    assert (ctx.resolved_at, ctx.outage_duration) == ("Mon 2 Mar 2026, 12:12 CET", "3 hours")
    assert ctx.incident_duration == "3 hours"


def test_overrides_win_and_unknown_names_are_refused():
    incident, account, contacts, *_ = _record()
    ctx = build_context(incident=incident, account=account, contacts=contacts, now=NOW,
                        overrides={"status": "Monitoring", "greeting": "Ana", "actions_taken": ["Rolled back."]})
    assert (ctx.status, ctx.greeting, ctx.actions_taken) == ("Monitoring", "Ana", ["Rolled back."])
    assert ctx.csm_name == "Customer Success team"  # no CSM given
    with pytest.raises(ValueError, match="unknown message fields: password"):
        build_context(incident=incident, account=account, now=NOW, overrides={"password": "x"})


def test_without_contacts_the_account_team_is_greeted():
    incident, account, *_ = _record()
    ctx = build_context(incident=incident, account=account, now=NOW)
    assert (ctx.greeting, ctx.contact_name, ctx.client_time_zone) == ("Acme Retail team", "", "America/New_York")


@pytest.mark.parametrize(
    "span, words",
    [(dt.timedelta(seconds=30), "less than a minute"), (dt.timedelta(minutes=1), "1 minute"),
     (dt.timedelta(hours=2, minutes=15), "2 hours 15 minutes"), (dt.timedelta(days=3, hours=4, minutes=5),
                                                                 "3 days 4 hours")],
)
def test_format_duration(span, words):
    assert describe_duration(span) == words


# --------------------------------------------------------------------------
# Rendering and checking edited templates


def test_edited_parts_replace_only_themselves():
    ctx = sample_context()
    shipped = render("status_update", ctx)
    edited = render("status_update", ctx, text_src="Short note about {{ title }}.")
    assert edited.text == "Short note about Order exports failing."
    assert (edited.subject, edited.html) == (shipped.subject, shipped.html)


def test_a_template_made_in_the_app_renders_from_strings():
    message = render("custom_note", sample_context(), subject_src="Note {{ incident_ref }}\n\nx",
                     text_src="Hello {{ greeting }}")
    assert (message.subject, message.text, message.html) == ("Note INC-1042 x", "Hello Ana Martin", "")


def test_unknown_key_without_text_is_refused():
    with pytest.raises(UnknownTemplate, match="no template with this key"):
        render("nope", sample_context())


@pytest.mark.parametrize(
    "text_src, line, message",
    [
        ("Hello\n{{ nope }}", 2, "'nope' is undefined: not a message field"),
        ("a\nb\n{{ titel }}", 3, "did you mean 'title'?"),
        ("{% if %}", 1, "Expected an expression"),
        ("ok\n{% for x in actions_taken %}\n{{ x }}", 3, "Unexpected end of template"),
        ("{{ title.nothing_here }}", 1, "has no attribute 'nothing_here'"),
        ("x\n\n\n{{ 1 / 0 }}", 4, "division by zero"),
    ],
)
def test_render_errors_name_the_template_and_line(text_src, line, message):
    with pytest.raises(RenderError) as caught:
        render("status_update", sample_context(), text_src=text_src)
    assert caught.value.template == "status_update.txt.j2"
    assert caught.value.line == line
    assert message in caught.value.message
    assert str(caught.value).startswith(f"status_update.txt.j2, line {line}: ")


@pytest.mark.parametrize(
    "parts, audience, expected",
    [
        (("S", "Hello {{ title }}", "<p>{{ title }}</p>"), "client", []),
        (("S", "Hello {{ severity }}", None), "internal", []),
        (("S", "Hello {{ severity }}", None), "client",
         [("text", 1, "'severity' is internal information and cannot be used in a message to the client")]),
        (("S", "a\n{{ rootcause }}", None), "client", [("text", 2, "'rootcause' is not a message field "
                                                                   "(did you mean 'root_cause'?)")]),
        (("S {{ config }}", "x", None), "client", [("subject", 1, "'config' is not a message field")]),
        (("S", "x", "<p>\n{% if title %}{{ title|safe }}{% endif %}</p>"), "client",
         [("html", 2, "no filter named 'safe'")]),
        (("S", "x\n{% include 'other.txt.j2' %}", None), "client",
         [("text", 2, "message templates cannot include, import or extend other templates or files")]),
        (("S", "{% for x in actions_taken %}", None), "client",
         [("text", 1, "Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. "
                      "The innermost block that needs to be closed is 'for'.")]),
        (("", "x", None), "client", [("subject", None, "an email needs a subject")]),
        (("S", "  ", None), "client", [("text", None, "the plain-text part is empty")]),
        (("S", "{{ title.upper(1) }}", None), "client", [("text", 1, "takes no arguments (1 given)")]),
    ],
)
def test_check_template(parts, audience, expected):
    problems = check_template(*parts, audience=audience)
    got = [(p.part, p.line, p.message) for p in problems]
    assert len(got) == len(expected), got
    for (part, line, message), (exp_part, exp_line, exp_message) in zip(got, expected, strict=True):
        assert (part, line) == (exp_part, exp_line)
        assert exp_message in message


def test_phone_scripts_need_no_subject():
    assert check_template(None, "Call {{ contact_name }}", None, channel="phone") == []


# --------------------------------------------------------------------------
# Sandbox: injection payloads and limits

LEAK_MARKERS = ("<class", "<function", "<module", "<built-in", "<bound", "root:", "__globals__", "Environment",
                "jinja2", "subprocess", "TemplateReference")
# Every quick hostile payload of the shared corpus, and the probes that may render but must stay inert.
PAYLOADS = QUICK + INERT


@pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_are_refused_or_inert(payload, html):
    context = sample_context()
    started = time.monotonic()
    kwargs = {"html_src": payload} if html else {"text_src": payload}
    try:
        message = render("custom", context, text_src=kwargs.get("text_src", "x"), html_src=kwargs.get("html_src"))
    except RenderError as exc:
        assert exc.message and not any(marker in exc.message for marker in LEAK_MARKERS[:6])
        # a template that fails to render is also flagged before it can be saved
        assert check_template("S", kwargs.get("text_src", "x"), kwargs.get("html_src"), audience="client")
    else:
        output = message.html if html else message.text
        assert not any(marker in output for marker in LEAK_MARKERS), output[:200]
        assert len(output) < 1_000
        if html:
            assert "<script" not in output
    assert time.monotonic() - started < 3


def test_script_in_html_template_text_is_escaped():
    message = render("custom", sample_context(), text_src="x", html_src="<p>{{ '<script>' }}</p>")
    assert message.html == "<p>&lt;script&gt;</p>"


def test_record_values_are_escaped_in_html_and_plain_in_text():
    hostile = "<script>alert(1)</script>"
    context = sample_context().model_copy(update={
        "title": hostile, "greeting": hostile, "workaround": f'"><img src=x onerror=alert(1)> {hostile}',
        "actions_taken": [hostile], "status_page_url": 'javascript:alert(1)', "csm_email": '"><script>x@y.z',
    })
    for spec in catalog():
        message = render(spec.key, context)
        assert "<script>" not in message.html
        assert "<img" not in message.html
        assert 'href="javascript:' not in message.html
        if spec.html_file:
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
        assert hostile in message.text


def test_output_size_is_capped_with_a_template_error():
    context = sample_context().model_copy(update={"summary": "x" * 9_000})
    with pytest.raises(RenderError, match="longer than 100,000 characters") as caught:
        render("custom", context, text_src="{% for i in range(20) %}{{ summary }}{% endfor %}")
    assert isinstance(caught.value.__cause__, TemplateError)
    assert isinstance(caught.value.__cause__, MessageTooLarge)


@pytest.mark.parametrize(
    "text_src, expected",
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 2 ** 10 }} {{ 7 * 6 }} {{ 'a' + 'b' }} {{ '%05.1f' % 3.14159 }}", "1024 42 ab 003.1"),
        ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
        ("{{ actions_taken|length }} {{ title|upper }} {{ ['a','b']|join(', ') }}", "2 ORDER EXPORTS FAILING a, b"),
        ("{% set ns = namespace(n=0) %}{% for a in actions_taken %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
         "2"),
        ("{{ title.split()|first }} {{ title.startswith('Order') }} {{ title|replace('Order', 'Invoice') }}",
         "Order True Invoice exports failing"),
        ("{% macro b(x) %}[{{ x }}]{% endmacro %}{{ b(title) }}", "[Order exports failing]"),
        ("{{ contact_names|join(' and ') }}", "Ana Martin and IT Service Desk"),
        ("{{ workaround|wordwrap(40) }}",
         "Download the order file from Reports >\nOrders and upload it to the warehouse\nportal."),
    ],
)
def test_ordinary_template_features_still_work(text_src, expected):
    assert render("custom", sample_context(), text_src=text_src).text == expected


def test_the_sandbox_has_no_loader_and_no_safe_filter():
    env = MessageSandbox(html=True)
    assert env.loader is None and "safe" not in env.filters and "lipsum" not in env.globals
    assert env.autoescape is True and MessageSandbox(html=False).autoescape is False
    assert env.intercepted_binops >= {"*", "**", "+"}
    with pytest.raises(TemplateError, match="loaded by catalog key"):
        env.get_template("emergency_acknowledgement.txt.j2")


def test_templates_cannot_run_outside_a_render_budget():
    env = MessageSandbox(html=False)
    with pytest.raises(TemplateLimitError):
        env.from_string("{{ title }}").render(title="x")


@settings(max_examples=40, deadline=None)
@given(value=st.text(max_size=300), items=st.lists(st.text(max_size=80), max_size=5))
def test_any_record_text_renders_and_is_escaped(value, items):
    context = sample_context().model_copy(update={"title": value, "impact": value, "actions_taken": items,
                                                           "workaround": value})
    for key in ("emergency_acknowledgement", "status_update"):
        message = render(key, context)
        assert "\n" not in message.subject and "\r" not in message.subject
        if value.strip():
            assert str(escape(value)) in message.html
            assert value in message.text
