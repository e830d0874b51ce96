"""Client communications on SQLite and PostgreSQL: the log, the milestone, the update clock, templates, SMTP.

Sending runs against a real aiosmtpd server on loopback that refuses any
recipient whose address starts with "refuse".
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from decimal import Decimal
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from core.communication import flows as comms
from core.communication.cadence import backfill_client_update_due, client_update_due, updates_due
from core.communication.catalog import TemplateSources
from core.communication.errors import CommunicationForbidden, SettingsError, TemplateConflict, TemplateRejected
from core.communication.mail import AddressError, HeaderInjectionError
from core.communication.smtp import (
    SMTP_SETTING,
    RecipientRefused,
    ServerUnreachable,
    SmtpSettings,
    save_smtp_settings,
    smtp_settings,
)
from core.communication.store import (
    current_template,
    field_kind,
    save_template,
    template_fields,
    template_history,
)
from core.incident import flows as incidents
from core.incident.flows import ConflictError
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.triage.rules import Answers
from core.vocabulary import ClockState
from db.engine import session_scope
from db.models import (
    Account,
    AuditEntry,
    Communication,
    Contact,
    Incident,
    MessageTemplateVersion,
    Setting,
    TimelineEvent,
)
from tests.conftest import NOW, make_user

HOUR = dt.timedelta(hours=1)
CADENCE = HOUR                       # red-status P1: update the client every hour
NOTIFY_WITHIN = dt.timedelta(minutes=30)  # red-status P1: first notice within 30 minutes


class Collector:
    """aiosmtpd handler: keeps every message, refuses recipients starting with 'refuse'."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False, from_address="desk@example.com",
                       timeout=5), handler
    controller.stop()


@pytest.fixture
def setup(engine):
    """A CSM, an account with two contacts and a P1 incident under red-status, detected at NOW."""
    csm_id = make_user(engine, "csm1", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=csm_id, time_zone="Europe/Paris")
        account.contacts = [Contact(name="Ana Martin", email="ana@acme.example", time_zone="Europe/Paris",
                                    is_primary=True),
                            Contact(name="IT Desk", email="it@acme.example", time_zone="Europe/Paris")]
        s.add(account)
        s.flush()
        opened = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="Payments fail.",
                                         answers=Answers(business_impact="major"), policy_name="red-status",
                                         actor=Actor(csm_id, "csm1", Role.CSM), now=NOW, detected_at=NOW)
    return SimpleNamespace(engine=engine, incident_id=opened.id, actor=Actor(csm_id, "csm1", Role.CSM), csm_id=csm_id)


def _incident(engine, incident_id):
    with session_scope(engine) as s:
        row = s.get(Incident, incident_id)
        s.expunge(row)
        return row


def _count(engine, model, **where) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0


def _log(setup, *, at, channel="email", expected=None, recipients=("Ana Martin <ana@acme.example>",)):
    with session_scope(setup.engine) as s:
        return comms.record_communication(
            s, incident_id=setup.incident_id, expected_version=expected, template_key="status_update",
            template_version=None, channel=channel, recipients=list(recipients), subject="Update 1",
            body_text="Hello Ana, we are on it.", body_html="<p>Hello Ana</p>",
            actor=setup.actor, now=at).id


def _prepared(setup, key="status_update", **edits):
    # The CSM writes the impact in client words: the record's summary is the internal triage note.
    edits = {"impact": "Card payments fail at checkout.", **edits}
    with session_scope(setup.engine) as s:
        source = comms.compose_source(s, setup.incident_id, signer_id=setup.csm_id, now=NOW + HOUR / 4)
        context = comms.apply_edits(source.context, edits)
        return comms.prepare_message(s, key=key, context=context), source


# --------------------------------------------------------------------------
# The log, the milestone and the client-update clock.


def test_before_any_message_the_first_notice_deadline_is_the_update_due(setup):
    row = _incident(setup.engine, setup.incident_id)
    assert row.client_notified_at is None
    assert row.next_client_update_due_at == NOW + NOTIFY_WITHIN


@pytest.mark.parametrize("channel", ["email", "phone"])
def test_first_client_message_records_client_notified(setup, channel):
    first = NOW + dt.timedelta(minutes=12)
    recipients = ["Ana Martin <ana@acme.example>"] if channel == "email" else ["Ana Martin, +33 1 23 45 67 89"]
    _log(setup, at=first, channel=channel, recipients=recipients)
    row = _incident(setup.engine, setup.incident_id)
    assert (row.client_notified_at, row.last_client_update_at) == (first, first)
    assert row.next_client_update_due_at == first + CADENCE
    with session_scope(setup.engine) as s:
        kinds = [(e.kind, e.summary) for e in s.scalars(select(TimelineEvent).order_by(TimelineEvent.id))]
        clocks = {c.clock: c for c in incidents.clocks_of(s, s.get(Incident, setup.incident_id), first)}
    assert ("milestone", "Client notified") in kinds
    assert clocks["client_notification"].state is ClockState.MET
    assert clocks["client_update"].deadline == first + CADENCE


def test_each_message_restarts_the_client_update_clock_and_keeps_the_first_notice(setup):
    first, second = NOW + dt.timedelta(minutes=12), NOW + dt.timedelta(minutes=55)
    _log(setup, at=first)
    _log(setup, at=second, channel="phone", recipients=["Ana Martin"])
    row = _incident(setup.engine, setup.incident_id)
    assert row.client_notified_at == first
    assert row.last_client_update_at == second
    assert row.next_client_update_due_at == second + CADENCE
    with session_scope(setup.engine) as s:
        clock = next(c for c in incidents.clocks_of(s, s.get(Incident, setup.incident_id), second)
                     if c.clock == "client_update")
        log = comms.communication_log(s, setup.incident_id)
    assert (clock.started_at, clock.deadline) == (second, second + CADENCE)
    assert [(e.channel, e.sent_at, e.sent_by) for e in log] == [("phone", second, "Csm1"), ("email", first, "Csm1")]
    assert log[1].body_text == "Hello Ana, we are on it." and log[1].body_html == "<p>Hello Ana</p>"


def test_an_internal_message_is_logged_but_touches_no_client_clock(setup):
    _log(setup, at=NOW + dt.timedelta(minutes=5), channel="internal", recipients=["L2 on-call"])
    row = _incident(setup.engine, setup.incident_id)
    assert row.client_notified_at is None and row.last_client_update_at is None
    assert _count(setup.engine, Communication) == 1


def test_resolution_ends_the_cadence(setup):
    _log(setup, at=NOW + dt.timedelta(minutes=10))
    with session_scope(setup.engine) as s:
        incidents.move_status(s, incident_id=setup.incident_id, target="resolved", actor=setup.actor,
                              now=NOW + HOUR)
    assert _incident(setup.engine, setup.incident_id).next_client_update_due_at is None


def test_stale_version_is_a_conflict_and_logs_nothing(setup):
    seen = _incident(setup.engine, setup.incident_id).version
    with session_scope(setup.engine) as s:
        incidents.record_milestone(s, incident_id=setup.incident_id, milestone=incidents.Milestone.ACKNOWLEDGED,
                                   actor=setup.actor, now=NOW + dt.timedelta(minutes=3))
    with pytest.raises(ConflictError, match="changed by someone else"):
        _log(setup, at=NOW + dt.timedelta(minutes=5), expected=seen)
    assert _count(setup.engine, Communication) == 0
    assert _incident(setup.engine, setup.incident_id).client_notified_at is None


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"recipients": ["ana@acme"]}, AddressError, "is not a valid email address"),
        ({"recipients": []}, comms.CommunicationError, "add at least one recipient"),
        ({"recipients": ["ana@acme.example\r\nBcc: x@evil.example"]}, HeaderInjectionError, "line break"),
        ({"subject": "Hi\nBcc: x@evil.example"}, HeaderInjectionError, "line break"),
        ({"subject": "Hi\u2028Bcc: x@evil.example"}, HeaderInjectionError, "line separator \\(U\\+2028\\)"),
        ({"recipients": ["ana@acme.example\x85Bcc: x@evil.example"]}, HeaderInjectionError, "U\\+0085"),
        ({"recipients": ["=?utf-8?q?Ana=0D=0ABcc:_x@evil.example?= <ana@acme.example>"]}, HeaderInjectionError,
         "encoded word"),
        ({"body_text": "   "}, comms.CommunicationError, "text is empty"),
        ({"channel": "fax"}, comms.CommunicationError, "Unknown channel"),
        ({"sent_at": NOW + 2 * HOUR}, comms.CommunicationError, "in the future"),
        ({"sent_at": NOW - HOUR}, comms.CommunicationError, "before the problem was detected"),
    ],
)
def test_bad_log_entries_are_refused_and_nothing_is_logged(setup, changes, error, message):
    values = dict(incident_id=setup.incident_id, expected_version=None, template_key="status_update",
                  template_version=None, channel="email", recipients=["ana@acme.example"], subject="Update",
                  body_text="Hello", actor=setup.actor, now=NOW + HOUR)
    values.update(changes)
    with pytest.raises(error, match=message), session_scope(setup.engine) as s:
        comms.record_communication(s, **values)
    assert _count(setup.engine, Communication) == 0
    assert _incident(setup.engine, setup.incident_id).client_notified_at is None


# --------------------------------------------------------------------------
# Sending through SMTP.


def test_send_delivers_both_parts_and_logs_the_exact_text(setup, smtp):
    settings, server = smtp
    before = len(server.messages)
    prepared, source = _prepared(setup, "emergency_acknowledgement")
    assert prepared.missing == ()
    outcome = comms.send_and_record(
        incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
        to=source.default_recipients, cc=["it@acme.example"], settings=settings, password=None,
        actor=setup.actor, now=NOW + HOUR / 4, engine=setup.engine)
    assert outcome.first_notice and outcome.accepted == ("ana@acme.example", "it@acme.example")
    _sender, _rcpts, raw = server.messages[before]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Subject"] == prepared.subject and parsed["To"] == "Ana Martin <ana@acme.example>"
    with session_scope(setup.engine) as s:
        row = s.get(Communication, outcome.communication_id)
        assert (row.body_text, row.body_html, row.subject) == (prepared.text, prepared.html, prepared.subject)
        assert (row.delivery, row.template_key, row.template_version) == ("sent", "emergency_acknowledgement", None)
        assert row.recipients == ["Ana Martin <ana@acme.example>", "it@acme.example"]
    assert _incident(setup.engine, setup.incident_id).client_notified_at == NOW + HOUR / 4


@pytest.mark.parametrize(
    "to, error",
    [
        (["refuse@acme.example"], RecipientRefused),   # the server says no
        (["Ana <ana@acme>"], AddressError),             # refused before connecting
        (["=?utf-8?q?Ana=0D=0ABcc:_x@evil.example?= <ana@acme.example>"], HeaderInjectionError),
        (["Ana\x0bBcc: x@evil.example <ana@acme.example>"], HeaderInjectionError),
    ],
)
def test_a_refused_send_logs_nothing(setup, smtp, to, error):
    settings, server = smtp
    before = len(server.messages)
    prepared, source = _prepared(setup, "emergency_acknowledgement")
    with pytest.raises(error):
        comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                              to=to, settings=settings, password=None,
                              actor=setup.actor, now=NOW + HOUR / 4,
                              engine=setup.engine)
    assert len(server.messages) == before
    assert _count(setup.engine, Communication) == 0
    row = _incident(setup.engine, setup.incident_id)
    assert row.client_notified_at is None and row.version == source.version


def test_a_title_holding_an_encoded_word_goes_out_literally_with_no_extra_header(setup, smtp):
    # The subject is filled from the incident title, which any CSM can edit: its '=?' is encoded by the app.
    settings, server = smtp
    before = len(server.messages)
    title = "=?utf-8?q?Checkout=0D=0AReply-To:_attacker@evil.example?="
    prepared, source = _prepared(setup, "emergency_acknowledgement", title=title)
    assert title in prepared.subject
    comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                          to=source.default_recipients, reply_to="csm1@example.com", settings=settings,
                          password=None, actor=setup.actor, now=NOW + HOUR / 4, engine=setup.engine)
    _, rcpts, raw = server.messages[before]
    head = raw.partition(b"\r\n\r\n")[0]
    names = sorted(line.partition(b":")[0].lower() for line in head.split(b"\r\n") if line[:1] not in b" \t")
    assert names == [b"content-type", b"date", b"from", b"message-id", b"mime-version", b"reply-to", b"subject",
                     b"to"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == prepared.subject and parsed["Reply-To"] == "csm1@example.com"
    assert rcpts == ["ana@acme.example"]
    with session_scope(setup.engine) as s:
        assert s.scalars(select(Communication.subject)).all() == [prepared.subject]


def test_an_unreachable_server_logs_nothing(setup):
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, from_address="desk@example.com",
                            timeout=3)
    prepared, source = _prepared(setup, "emergency_acknowledgement")
    with pytest.raises(ServerUnreachable, match="Nothing was sent"):
        comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                              to=source.default_recipients, settings=settings, password=None,
                              actor=setup.actor,
                              now=NOW + HOUR / 4, engine=setup.engine)
    assert _count(setup.engine, Communication) == 0
    assert _incident(setup.engine, setup.incident_id).last_client_update_at is None


STRANGER = Actor(987_654, "csm2", Role.CSM)  # a CSM who owns neither the account nor the incident


def test_a_csm_of_another_account_can_neither_send_nor_log_and_nothing_leaves(setup, smtp):
    settings, server = smtp
    before = len(server.messages)
    prepared, source = _prepared(setup, "emergency_acknowledgement")
    who = "Only the account's CSM, the incident's owner, leads and admins may write to the client"
    with pytest.raises(comms.CommunicationForbidden, match=who):
        comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                              to=source.default_recipients, settings=settings, password=None,
                              actor=STRANGER, now=NOW + HOUR / 4, engine=setup.engine)
    assert len(server.messages) == before
    with pytest.raises(comms.CommunicationForbidden, match=who), session_scope(setup.engine) as s:
        comms.mark_sent(s, incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                        channel="phone", recipients=["Ana Martin"], actor=STRANGER, now=NOW + HOUR)
    with pytest.raises(comms.CommunicationForbidden, match="csm2 is none of them"), session_scope(setup.engine) as s:
        comms.record_communication(s, incident_id=setup.incident_id, expected_version=None,
                                   template_key="status_update",
                                   template_version=None, channel="email", recipients=["ana@acme.example"],
                                   subject="Update", body_text="Hello", actor=STRANGER, now=NOW + HOUR)
    assert _count(setup.engine, Communication) == 0
    assert _incident(setup.engine, setup.incident_id).client_notified_at is None


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_leads_and_admins_may_log_messages_on_any_account(setup, role):
    with session_scope(setup.engine) as s:
        comms.record_communication(s, incident_id=setup.incident_id, expected_version=None,
                                   template_key="status_update",
                                   template_version=None, channel="email", recipients=["ana@acme.example"],
                                   subject="Update", body_text="Hello", actor=Actor(None, "lead1", role),
                                   now=NOW + HOUR)
    assert _count(setup.engine, Communication) == 1


def test_without_a_team_role_only_the_owner_may_log(setup):
    with pytest.raises(comms.CommunicationForbidden, match="lead1 is none of them"), session_scope(setup.engine) as s:
        comms.record_communication(s, incident_id=setup.incident_id, expected_version=None,
                                   template_key="status_update", template_version=None, channel="email",
                                   recipients=["ana@acme.example"], subject="Update", body_text="Hello",
                                   actor=Actor(None, "lead1"), now=NOW + HOUR)
    with session_scope(setup.engine) as s:
        comms.record_communication(s, incident_id=setup.incident_id, expected_version=None,
                                   template_key="status_update", template_version=None, channel="email",
                                   recipients=["ana@acme.example"], subject="Update", body_text="Hello",
                                   actor=Actor(setup.csm_id, "csm1"), now=NOW + HOUR)
    assert _count(setup.engine, Communication) == 1


def test_a_stale_page_sends_nothing(setup, smtp):
    settings, server = smtp
    before = len(server.messages)
    prepared, source = _prepared(setup, "emergency_acknowledgement")
    _log(setup, at=NOW + dt.timedelta(minutes=5), channel="phone", recipients=["Ana Martin"])
    with pytest.raises(ConflictError):
        comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                              to=source.default_recipients, settings=settings, password=None,
                              actor=setup.actor,
                              now=NOW + HOUR / 4, engine=setup.engine)
    assert len(server.messages) == before and _count(setup.engine, Communication) == 1


def test_missing_required_fields_stop_sending_and_marking(setup, smtp):
    settings, server = smtp
    before = len(server.messages)
    prepared, source = _prepared(setup, "resolution_root_cause")
    assert set(prepared.missing) == {"resolved_at", "root_cause", "fix_applied", "prevention_measures"}
    with pytest.raises(comms.DraftIncomplete, match="Fill in resolved_at, root_cause"):
        comms.send_and_record(incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                              to=source.default_recipients, settings=settings, password=None,
                              actor=setup.actor,
                              now=NOW + HOUR / 4, engine=setup.engine)
    with pytest.raises(comms.DraftIncomplete), session_scope(setup.engine) as s:
        comms.mark_sent(s, incident_id=setup.incident_id, expected_version=source.version, prepared=prepared,
                        channel="email", recipients=source.default_recipients,
                        actor=setup.actor, now=NOW + HOUR)
    assert len(server.messages) == before and _count(setup.engine, Communication) == 0


# --------------------------------------------------------------------------
# Composing from the record.


def test_compose_source_prefills_from_the_record_in_the_clients_zone(setup):
    _, source = _prepared(setup)
    ctx = source.context
    assert (ctx.account_name, ctx.contact_name, ctx.csm_name) == ("Acme Corp", "Ana Martin", "Csm1")
    assert ctx.detected_at == "Mon 2 Mar 2026, 10:00 CET"          # 09:00 UTC in Paris
    assert ctx.client_time_zone == "Europe/Paris" and ctx.severity_label == "High"
    assert source.default_recipients == ["Ana Martin <ana@acme.example>"]
    assert source.suggested_template == "p1_response"
    # The triage note ("Payments fail.") stays internal; the first notice is due 30 minutes after detection,
    # then every hour: a message at 09:15 UTC promises 10:15 UTC.
    assert (ctx.summary, ctx.impact, ctx.triage_note) == ("", "", "Payments fail.")
    assert (ctx.next_update_at, source.promise.late) == ("Mon 2 Mar 2026, 11:15 CET", False)


@pytest.mark.parametrize(
    "facts, expected",
    [
        ({"severity": "P0"}, "emergency_acknowledgement"),
        ({"severity": "P1"}, "p1_response"),
        ({"answers": {"security_breach": True}}, "security_incident_notification"),
        ({"answers": {"legal_compliance": True, "business_impact": "minor"}}, "legal_compliance_acknowledgement"),
        ({"client_notified_at": NOW}, "status_update"),
        ({"client_notified_at": NOW, "resolved_at": NOW + HOUR}, "resolution_root_cause"),
    ],
)
def test_suggested_template(facts, expected):
    incident = SimpleNamespace(**{"severity": "P1", "answers": {}, "client_notified_at": None, "resolved_at": None,
                                  **facts})
    assert comms.suggest_template(incident) == expected


@pytest.mark.parametrize(
    "name, kind",
    [("title", "line"), ("summary", "text"), ("actions_taken", "lines"), ("update_number", "number"),
     ("is_resolved", "flag")],
)
def test_field_kinds(name, kind):
    assert field_kind(name) == kind


def test_edits_are_validated_by_field():
    from core.communication.context import sample_context

    with pytest.raises(comms.CommunicationError, match="update_number"):
        comms.apply_edits(sample_context(), {"update_number": 0})


# --------------------------------------------------------------------------
# Templates edited in the app.


def _save(setup, key="status_update", expected=None, **parts):
    from core.communication.catalog import shipped_sources

    shipped = shipped_sources(key)
    values = {"subject": shipped.subject, "text": shipped.text, "html": shipped.html, **parts}
    with session_scope(setup.engine) as s:
        return save_template(s, key=key, expected_version=expected, actor=_admin(setup), now=NOW, **values).version


def test_a_saved_version_is_used_for_new_messages_and_old_ones_keep_their_text(setup):
    _log(setup, at=NOW + dt.timedelta(minutes=5))
    assert _save(setup, text="Hi {{ greeting }}, still on it. Next update {{ next_update_at }}.\n") == 1
    prepared, _ = _prepared(setup)
    assert prepared.template_version == 1 and prepared.text.startswith("Hi Ana Martin, still on it.")
    assert _save(setup, expected=1, subject="Update {{ update_number }} [{{ incident_ref }}]") == 2
    with session_scope(setup.engine) as s:
        history = template_history(s, "status_update")
        log = comms.communication_log(s, setup.incident_id)
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "message_template")).all()
    assert [h.version for h in history] == [2, 1] and history[0].saved_by == "Admin1"
    assert log[0].body_text == "Hello Ana, we are on it."
    assert len(audit) == 2 and "+Update {{ update_number }}" in audit[-1].changes["diff"]


@pytest.mark.parametrize(
    "parts, part, line, message",
    [
        ({"text": "Hello\n\n{% if greeting %}\nHi\n"}, "text", 4, "Unexpected end of template"),
        ({"text": "Hello {{ greeting }}\nRevenue: {{ revenue_per_hour }}\n"}, "text", 2, "internal information"),
        ({"html": "<p>\n{{ custmer_name }}</p>"}, "html", 2, "not a message field"),
        ({"subject": "Update {{ update_numbr }}"}, "subject", 1, "did you mean 'update_number'"),
    ],
)
def test_a_broken_template_is_refused_with_its_line(setup, parts, part, line, message):
    with pytest.raises(TemplateRejected) as refused:
        _save(setup, **parts)
    problem = refused.value.problems[0]
    assert (problem.part, problem.line) == (part, line) and message in problem.message
    assert f"{part} part, line {line}" in str(refused.value)
    assert _count(setup.engine, MessageTemplateVersion) == 0


def test_saving_over_a_newer_version_is_a_conflict(setup):
    _save(setup, text="First edit {{ greeting }}\n")
    with pytest.raises(TemplateConflict, match="as version 1 while you were editing"):
        _save(setup, text="Second edit {{ greeting }}\n", expected=None)
    with pytest.raises(comms.CommunicationError, match="Nothing changed"):
        _save(setup, text="First edit {{ greeting }}\n", expected=1)


# --------------------------------------------------------------------------
# SMTP settings.

ADMIN = Actor(None, "admin1", Role.ADMIN)


def _admin(setup) -> Actor:
    """The team's admin (a user of the setup's database, created on first use): only admins edit templates."""
    if not hasattr(setup, "admin"):
        setup.admin = Actor(make_user(setup.engine, "admin1", "admin"), "admin1", Role.ADMIN)
    return setup.admin


@pytest.mark.parametrize("role", [Role.CSM, Role.LEAD, None])
def test_only_admins_change_templates_and_the_email_server(setup, role):
    actor = Actor(setup.csm_id, "csm1", role)
    with pytest.raises(CommunicationForbidden, match="Only admins may change the message templates"), \
            session_scope(setup.engine) as s:
        save_template(s, key="status_update", subject="Update", text="Hello {{ client_name }}", html="",
                      expected_version=None, actor=actor, now=NOW)
    with pytest.raises(CommunicationForbidden, match="Only admins may change the email server settings"), \
            session_scope(setup.engine) as s:
        save_smtp_settings(s, host="smtp.example.com", port=587, starttls=True, username="",
                           from_address="desk@example.com", expected_revision=0, actor=actor, now=NOW)
    with session_scope(setup.engine) as s:
        assert smtp_settings(s) == (None, 0)
        assert current_template(s, "status_update").version is None


def test_smtp_settings_round_trip_without_a_password(setup):
    with session_scope(setup.engine) as s:
        assert smtp_settings(s) == (None, 0)
        save_smtp_settings(s, host="smtp.example.com", port=587, starttls=True, username="desk",
                           from_address="Desk <desk@example.com>", expected_revision=0, actor=ADMIN,
                           now=NOW)
    with session_scope(setup.engine) as s:
        settings, revision = smtp_settings(s)
        stored = s.get(Setting, SMTP_SETTING).value
    assert (settings.host, settings.port, settings.starttls, settings.username, revision) == (
        "smtp.example.com", 587, True, "desk", 1)
    assert "password" not in stored


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"host": "smtp example com"}, "Host:"),
        ({"port": 0}, "Port:"),
        ({"from_address": "desk@"}, "From address:"),
        ({"expected_revision": 3}, "while you were editing"),
    ],
)
def test_bad_smtp_settings_are_refused(setup, changes, message):
    values = dict(host="smtp.example.com", port=587, starttls=True, username="", from_address="desk@example.com",
                  expected_revision=0, actor=ADMIN, now=NOW)
    values.update(changes)
    with pytest.raises(SettingsError, match=message), session_scope(setup.engine) as s:
        save_smtp_settings(s, **values)


# --------------------------------------------------------------------------
# Cadence queries.


def test_updates_due_lists_overdue_then_soon_for_the_user(setup):
    other = make_user(setup.engine, "csm2", "csm")
    with session_scope(setup.engine) as s:
        account = s.scalar(select(Account))
        later = incidents.open_incident(s, account_id=account.id, title="Reports slow", summary="",
                                        answers=Answers(business_impact="major"), policy_name="red-status",
                                        actor=setup.actor, now=NOW + HOUR, detected_at=NOW + HOUR).id
    # First notice due NOW+30m (overdue at NOW+45m); the later one at NOW+1h30.
    at = NOW + dt.timedelta(minutes=45)
    with session_scope(setup.engine) as s:
        soon = updates_due(s, user_id=setup.csm_id, now=at, within=HOUR)
        narrow = updates_due(s, user_id=setup.csm_id, now=at, within=dt.timedelta(minutes=10))
        theirs = updates_due(s, user_id=other, now=at, within=HOUR)
        team = updates_due(s, user_id=None, now=at, within=HOUR)
        due = client_update_due(s, [setup.incident_id, later])
    assert [(u.incident_id, u.overdue(at), u.first_notice) for u in soon] == [
        (setup.incident_id, True, True), (later, False, True)]
    assert [u.incident_id for u in narrow] == [setup.incident_id]
    assert theirs == [] and [u.incident_id for u in team] == [setup.incident_id, later]
    assert due == {setup.incident_id: NOW + NOTIFY_WITHIN, later: NOW + HOUR + NOTIFY_WITHIN}


def test_demo_messages_log_first_notices_and_leave_some_updates_overdue(setup):
    from core.demo import communications as demo_communications

    with session_scope(setup.engine) as s:
        account = s.scalar(select(Account))
        second = incidents.open_incident(s, account_id=account.id, title="Reports slow", summary="",
                                         answers=Answers(business_impact="major"), policy_name="red-status",
                                         actor=setup.actor, now=NOW, detected_at=NOW).id
        for incident_id in (setup.incident_id, second):
            incidents.record_milestone(s, incident_id=incident_id, milestone=incidents.Milestone.CLIENT_NOTIFIED,
                                       actor=setup.actor, now=NOW + dt.timedelta(minutes=20))
    later = NOW + 3 * HOUR
    with session_scope(setup.engine) as s:
        assert demo_communications.load(s, now=later) == 3
    with session_scope(setup.engine) as s:
        first_log = comms.communication_log(s, setup.incident_id)
        second_log = comms.communication_log(s, second)
        overdue = [u.incident_id for u in updates_due(s, user_id=None, now=later, within=HOUR)
                   if u.overdue(later)]
    assert [e.template_key for e in first_log] == ["status_update", "p1_response"]
    assert [e.template_key for e in second_log] == ["p1_response"]
    assert first_log[1].sent_at == NOW + dt.timedelta(minutes=20)
    assert overdue == [second]


def test_backfill_fills_open_incidents_stored_before_the_column(setup):
    with session_scope(setup.engine) as s:
        s.get(Incident, setup.incident_id).next_client_update_due_at = None
    with session_scope(setup.engine) as s:
        assert backfill_client_update_due(s, now=NOW + HOUR) == 1
    assert _incident(setup.engine, setup.incident_id).next_client_update_due_at == NOW + NOTIFY_WITHIN
    with session_scope(setup.engine) as s:
        assert backfill_client_update_due(s, now=NOW + HOUR) == 0


@pytest.mark.parametrize("subject, text, html, expected", [
    ("{{ title }}", "", "", ["title"]),
    ("{{ title }}", "{{ summary }} at {{ detected_at }}", "", ["title", "summary", "detected_at"]),
    # The same subject with another body: the answer is kept per set of texts, never per subject alone.
    ("{{ title }}", "{{ status }}", "<p>{{ incident_ref }}</p>", ["incident_ref", "title", "status"]),
    ("{% if is_resolved %}{{ title }}{% endif %}", "", "", ["title", "is_resolved"]),
])
def test_template_fields_are_the_context_fields_a_template_uses(subject, text, html, expected):
    from core.communication.fields import MessageContext

    order = list(MessageContext.model_fields)
    assert template_fields(TemplateSources(subject, text, html)) == sorted(expected, key=order.index)
    # Asked again (kept), the same answer, and a list the caller may change without changing the kept one.
    again = template_fields(TemplateSources(subject, text, html))
    again.append("changed")
    assert template_fields(TemplateSources(subject, text, html)) == sorted(expected, key=order.index)


def test_template_fields_of_a_broken_template_offer_every_field():
    from core.communication.fields import CONTEXT_FIELDS

    assert set(template_fields(TemplateSources("{{ title", "", ""))) == set(CONTEXT_FIELDS)
