"""Write to the client (AppTest): prefill, edit, preview, download, send through a real SMTP server, errors.

The SMTP server is aiosmtpd on loopback; it refuses recipients starting with
"refuse". Also the communication log on the incident page and the overdue
client-update flags on the list, the board and home.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.communication import flows as comms
from core.communication.smtp import save_smtp_settings, smtp_settings
from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from db.engine import session_scope
from db.models import Account, Communication, Contact, Incident
from tests.core.test_communications import Collector, free_port
from tests.literal_text import visible_text
from tests.pages.conftest import app_test, links_to, open_test_incident, page_as, texts

P1 = {"business_impact": "major"}  # red-status: first notice within 30 min, then every hour


@pytest.fixture(scope="module")
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


@pytest.fixture
def acme(workspace, app_db):
    """Acme Corp (csm1's account) gets a primary contact; a P1 incident opened 10 minutes ago."""
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        s.add(Contact(account_id=account.id, name="Ana Martin", email="ana@acme.example", phone="+33 1 23 45 67 89",
                      time_zone="Europe/Paris", is_primary=True))
    return open_test_incident(app_db, "Acme Corp", P1, policy="red-status", minutes_ago=10)


def use_smtp(app_db, port: int) -> None:
    """Point the app's email settings at 127.0.0.1:port (no TLS, no login)."""
    with session_scope(app_db) as s:
        _, revision = smtp_settings(s)
        save_smtp_settings(s, host="127.0.0.1", port=port, starttls=False, username="",
                           from_address="Success Desk <desk@example.com>", expected_revision=revision,
                                 actor=SYSTEM, now=dt.datetime.now(dt.UTC))


def compose(username: str, incident_id: int) -> AppTest:
    return app_test("pages/compose.py", username, timeout=30, query={"id": str(incident_id)}).run()


def pick(at: AppTest, incident_id: int, key: str) -> AppTest:
    at.selectbox(key=f"compose_template_{incident_id}").select(key)
    return at.run()


def logged(app_db) -> list[Communication]:
    with session_scope(app_db) as s:
        rows = list(s.scalars(select(Communication).order_by(Communication.id)))
        s.expunge_all()
        return rows


def incident_row(app_db, incident_id) -> Incident:
    with session_scope(app_db) as s:
        row = s.get(Incident, incident_id)
        s.expunge(row)
        return row


def field(at: AppTest, incident_id: int, name: str):
    key = f"draft_{incident_id}_{name}"
    return next(w for w in [*at.text_input, *at.text_area] if w.key == key)


def typed_impact(at: AppTest, incident_id: int) -> AppTest:
    """The CSM writes the impact in client words (nothing prefills it from the internal triage note)."""
    field(at, incident_id, "impact").input("Card payments fail at checkout.")
    return at.run()


def test_fields_are_prefilled_from_the_record_in_the_clients_zone(acme):
    at = compose("csm1", acme)
    assert not at.exception, at.exception
    assert at.selectbox(key=f"compose_template_{acme}").value == "p1_response"  # first notice for a P1
    assert field(at, acme, "greeting").value == "Ana Martin"
    assert field(at, acme, "title").value == "Checkout down"
    assert field(at, acme, "detected_at").value.endswith(" CET")               # Europe/Paris in winter
    assert field(at, acme, "impact").value == ""                               # the CSM writes it
    assert field(at, acme, "_to_email").value == "Ana Martin <ana@acme.example>"
    assert "Still empty, and needed before this message goes out: impact, technical_lead_name" in texts(at)


def test_the_promised_next_update_is_worked_out_at_each_render_and_never_kept_in_the_draft(acme):
    at = compose("csm1", acme)
    assert not [w for w in [*at.text_input, *at.text_area] if w.key == f"draft_{acme}_next_update_at"]
    [caption] = [c.value for c in at.caption if c.value.startswith("Worked out each time the message is rendered")]
    promised = caption.split("Next update at: ")[1].rstrip(".")
    assert promised.endswith(" CET") and f"You will hear from us by {promised}" in at.code[1].value
    assert not at.error, "a P1 opened 10 minutes ago is on time"


NOTE = "CEO on the phone, furious"


def test_an_internal_triage_note_prefills_no_field_of_any_client_message(workspace, app_db):
    from core.communication.catalog import catalog

    incident_id = open_test_incident(app_db, "Acme Corp", P1, policy="red-status", minutes_ago=10, summary=NOTE)
    at = compose("csm1", incident_id)
    for spec in [s for s in catalog() if s.audience == "client"]:
        at = pick(at, incident_id, spec.key)
        assert not at.exception, at.exception
        prefilled = {w.key: w.value for w in [*at.text_input, *at.text_area] if NOTE in str(w.value)}
        assert prefilled == {}, spec.key
        assert "furious" not in texts(at), spec.key
        assert all("furious" not in frame.proto.srcdoc for frame in at.get("iframe")), spec.key


def test_a_plan_entry_that_cannot_be_kept_is_promised_fifteen_minutes_out_and_flagged_in_red(workspace, app_db):
    # SPARK P0: messages planned 15, 30 and 60 minutes after detection. Forty minutes in, nothing sent yet:
    # this message meets the 15-minute entry, and the 30-minute one is already past.
    late = open_test_incident(app_db, "Acme Corp", {"business_impact": "stopped"}, policy="spark", minutes_ago=40)
    at = compose("csm1", late)
    assert at.selectbox(key=f"compose_template_{late}").value == "emergency_acknowledgement"
    errors = " ".join(visible_text(e.value) for e in at.error)
    assert "Overdue: the client update was due" in errors
    assert "Late plan entry: the plan wants the next update by" in errors and "overdue 10m" in errors
    assert "15 minutes from now" in errors and "that plan entry will show as late" in errors


def test_edit_shows_in_both_previews_and_the_html_is_sandboxed(acme):
    at = compose("csm1", acme)
    field(at, acme, "greeting").input("Ana and team").run()
    subject, plain = at.code[0].value, at.code[1].value
    assert subject.endswith(f"[INC-{acme}]")
    assert plain.startswith("Hello Ana and team,") or "Ana and team" in plain.splitlines()[0]
    frame = at.get("iframe")[0].proto.srcdoc
    assert 'sandbox=""' in frame and "Ana and team" in frame
    assert "&lt;html" in frame and "<html" not in frame  # the email is escaped into srcdoc, never live markup
    at.button(key="compose_refill").click().run()
    assert field(at, acme, "greeting").value == "Ana Martin", "refill takes the record's values again"


def test_download_offers_an_eml_file_named_after_the_incident(acme, app_db):
    at = compose("csm1", acme)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download .eml"]
    # The page builds the file with comms.eml_file: check the same bytes are a two-part RFC 5322 message.
    with session_scope(app_db) as s:
        source = comms.compose_source(s, acme, signer_id=None, now=dt.datetime.now(dt.UTC))
        prepared = comms.prepare_message(s, key="p1_response", context=source.context)
    raw = comms.eml_file(prepared, sender="desk@example.com", to=source.default_recipients,
                         now=dt.datetime.now(dt.UTC))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_send_through_smtp_logs_the_exact_text_and_notifies_the_client(acme, app_db, smtp_server):
    port, server = smtp_server
    use_smtp(app_db, port)
    before = len(server.messages)
    at = typed_impact(pick(compose("csm1", acme), acme, "emergency_acknowledgement"), acme)
    field(at, acme, "greeting").input("Ana")
    at.run()
    shown_text = at.code[1].value
    at.button(key="compose_send").click().run()
    assert not at.exception, at.exception
    assert "Sent to ana@acme.example and logged (client notified recorded)" in texts(at)
    _, rcpts, raw = server.messages[before]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert rcpts == ["ana@acme.example"] and parsed["From"] == "Success Desk <desk@example.com>"
    [row] = logged(app_db)
    assert (row.channel, row.delivery, row.body_text.rstrip("\n"), row.sent_by_id is not None) == (
        "email", "sent", shown_text.rstrip("\n"), True)
    incident = incident_row(app_db, acme)
    assert incident.client_notified_at == row.sent_at == incident.last_client_update_at
    assert incident.next_client_update_due_at == row.sent_at + dt.timedelta(hours=1)
    assert field(at, acme, "greeting").value == "Ana Martin", "after sending, the next draft prefills afresh"


@pytest.mark.parametrize(
    "server, to, message",
    [
        ("down", "Ana Martin <ana@acme.example>", "Could not reach the email server"),
        ("up", "ana@acme", "is not a valid email address"),
        ("up", "refuse@acme.example", "refused this recipient"),
        ("up", "ana@acme.example\nBcc: x@evil.example", "is not a valid email address"),
        ("up", "=?utf-8?q?Ana=0D=0ABcc:_x@evil.example?= <ana@acme.example>", "the start of an encoded word"),
    ],
)
def test_a_failed_send_keeps_the_draft_and_logs_nothing(acme, app_db, smtp_server, server, to, message):
    port, collector = smtp_server
    use_smtp(app_db, port if server == "up" else free_port())
    before = len(collector.messages)
    at = typed_impact(pick(compose("csm1", acme), acme, "emergency_acknowledgement"), acme)
    field(at, acme, "greeting").input("Dear Ana")
    field(at, acme, "_to_email").input(to)
    at.button(key="compose_send").click().run()
    assert not at.exception, at.exception
    errors = " ".join(visible_text(e.value) for e in at.error)
    assert message in errors and "Your draft is kept" in errors
    assert field(at, acme, "greeting").value == "Dear Ana" and field(at, acme, "_to_email").value == to
    assert logged(app_db) == [] and len(collector.messages) == before
    assert incident_row(app_db, acme).client_notified_at is None


@pytest.mark.parametrize(
    "title, refused_with",
    [
        # A line separator in the title is folded into a space with the rest of the subject; a NUL is not.
        ("Checkout down\x00Bcc: x@evil.example", "The subject contains a NUL character"),
        ("=?utf-8?q?Checkout=0D=0ABcc:_x@evil.example?=", None),  # sent, and read literally
    ],
)
def test_a_title_cannot_add_header_lines(acme, app_db, smtp_server, title, refused_with):
    port, collector = smtp_server
    use_smtp(app_db, port)
    before = len(collector.messages)
    at = typed_impact(pick(compose("csm1", acme), acme, "emergency_acknowledgement"), acme)
    field(at, acme, "title").input(title)
    at.button(key="compose_send").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    if refused_with:
        assert refused_with in errors and "Your draft is kept" in errors
        assert "Cannot build the email yet" in errors, "the .eml download is withheld too"
        assert field(at, acme, "title").value == title
        assert logged(app_db) == [] and len(collector.messages) == before
        return
    assert errors == ""
    _, rcpts, raw = collector.messages[before]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert title in parsed["Subject"] and parsed.get_all("Bcc") is None and rcpts == ["ana@acme.example"]
    assert [row.subject for row in logged(app_db)] == [parsed["Subject"]]


def test_missing_required_fields_block_marking_sent(acme, app_db):
    at = compose("csm1", acme)   # p1_response needs the impact and the technical lead's name
    at.button(key="compose_mark_email").click().run()
    assert "Fill in impact, technical_lead_name before this message goes out" in texts(at)
    assert logged(app_db) == []
    field(at, acme, "impact").input("Card payments fail at checkout.")
    field(at, acme, "technical_lead_name").input("Priya Shah")
    at.button(key="compose_mark_email").click().run()
    assert [(r.channel, r.delivery) for r in logged(app_db)] == [("email", "marked_sent")]


def test_without_email_settings_send_is_off_but_copy_and_mark_work(acme, app_db):
    at = pick(compose("csm1", acme), acme, "status_update")
    assert at.button(key="compose_send").disabled
    assert "Sending from the app is off" in texts(at)
    at.button(key="compose_mark_email").click().run()
    assert [r.template_key for r in logged(app_db)] == ["status_update"]


def test_a_phone_call_is_logged_and_restarts_the_clock(acme, app_db):
    at = typed_impact(pick(compose("csm1", acme), acme, "phone_script"), acme)
    assert field(at, acme, "_to_phone").value == "Ana Martin, +33 1 23 45 67 89"
    at.button(key="compose_mark_phone").click().run()
    assert "Logged: phone call to Ana Martin, +33 1 23 45 67 89 (client notified recorded)" in texts(at)
    [row] = logged(app_db)
    assert row.channel == "phone" and row.body_html == ""
    assert incident_row(app_db, acme).last_client_update_at == row.sent_at


def test_a_stale_page_gets_a_conflict_then_the_retry_applies(acme, app_db):
    at = pick(compose("csm1", acme), acme, "status_update")
    with session_scope(app_db) as s:
        incidents.record_milestone(s, incident_id=acme, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM,
                                   now=dt.datetime.now(dt.UTC))
    at.button(key="compose_mark_email").click().run()
    assert "was changed by someone else" in texts(at) and logged(app_db) == []
    at.button(key="compose_mark_email").click().run()
    assert len(logged(app_db)) == 1


@pytest.mark.parametrize("username, allowed", [("csm1", False), ("lead1", True), ("admin1", True)])
def test_only_the_accounts_csm_leads_and_admins_compose(workspace, app_db, username, allowed):
    globex = open_test_incident(app_db, "Globex", P1, policy="red-status")
    at = compose(username, globex)
    assert not at.exception
    refused = "You write to clients of your own accounts only" in texts(at)
    assert refused is not allowed
    assert bool([b for b in at.button if b.key == "compose_mark_email"]) is allowed


def test_csm_picker_lists_only_their_accounts(workspace, app_db):
    mine = open_test_incident(app_db, "Acme Corp", P1, policy="red-status", title="Mine")
    open_test_incident(app_db, "Globex", P1, policy="red-status", title="Not mine")
    at = page_as("pages/compose.py", "csm1")
    assert at.selectbox(key="compose_incident").options == [f"#{mine} · P1 · Acme Corp · Mine (new)"]


# --------------------------------------------------------------------------
# The incident page and the lists.


def test_incident_page_links_to_compose_and_shows_the_log(acme, app_db):
    with session_scope(app_db) as s:
        comms.record_communication(s, incident_id=acme, expected_version=None, template_key="status_update",
                                   template_version=None, channel="email", recipients=["ana@acme.example"],
                                   subject="Update 1: Checkout down", body_text="Exact words sent.",
                                   actor=Actor(None, "system", Role.ADMIN), now=dt.datetime.now(dt.UTC))
    at = app_test("pages/incident.py", "csm1", timeout=30, query={"id": str(acme)}).run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Write to the client" in links_to(at, "compose", id=acme)
    assert any("Email · system → ana@acme.example · Update 1: Checkout down" in visible_text(e.label)
               for e in at.expander)
    assert "Exact words sent." in shown


def test_overdue_client_updates_are_flagged_on_list_board_and_home(workspace, app_db):
    late = open_test_incident(app_db, "Acme Corp", P1, policy="red-status", title="Late", minutes_ago=45)
    open_test_incident(app_db, "Acme Corp", P1, policy="red-status", title="Soon", minutes_ago=5)
    listing = page_as("pages/incidents.py", "lead1")
    table = listing.dataframe[0].value
    assert dict(zip(table["Title"], table["Client update overdue"], strict=True)) == {"Late": True, "Soon": False}
    listing.selectbox(key="f_urgency").select("client_update_overdue").run()
    assert list(listing.dataframe[0].value["ID"]) == [late]
    board = page_as("pages/board.py", "lead1")
    assert "1 with an overdue client update" in texts(board) and "Client update overdue" in texts(board)
    home = page_as("pages/home.py", "csm1")
    shown = texts(home)
    assert "Client updates due in the next hour" in shown
    due = home.dataframe[0].value
    assert list(due["Title"]) == ["Late", "Soon"] and list(due["Overdue"]) == [True, False]
    with session_scope(app_db) as s:
        assert s.scalar(select(func.count()).select_from(Incident)
                        .where(Incident.next_client_update_due_at.is_not(None))) == 2
