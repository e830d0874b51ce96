"""Alert channels against real receivers on loopback: aiosmtpd for email, http.server for webhook, Slack, Teams, SMS."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.alerts import channels, endpoints, links
from core.alerts.channels import Endpoint, signature, verify_signature
from core.alerts.delivery import ChannelSender, deliver, retry_dead_letter
from core.alerts.endpoints import EndpointError, EndpointForbidden
from core.communication.smtp import save_smtp_settings
from core.outbox.delivery import DeliveryError, Outgoing, RetryRefused
from core.outbox.queue import Draft, enqueue
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from db.engine import session_scope
from db.models import AuditEntry, Notification
from tests.conftest import NOW, make_user
from tests.core.http_receiver import closed_port_url, receiver

SECRET = "s3cret-for-the-tests-0123456789"
ADMIN = Actor(id=None, name="Ada Admin", role=Role.ADMIN)
BASE = "https://desk.example"


def outgoing(**changes) -> Outgoing:
    values = dict(id=7, channel="webhook", rule="breach:resolve", recipient="Ops hook",
                  dedupe_key="i1:breach:webhook:e1",
                  subject="[P1] Missed: resolution", body="Resolution was due at 09:00 UTC.", due_at=NOW,
                  created_at=NOW, incident_id=1, level="L2",
                  payload={"title": "Checkout down", "account": "Acme", "severity": "P1"})
    values.update(changes)
    return Outgoing(**values)


# --------------------------------------------------------------------------
# Bodies and signatures


@pytest.mark.parametrize("typed,shown", [
    ("<!channel> now", "&lt;!channel&gt; now"),
    ("ping <@U123>", "ping &lt;@U123&gt;"),
    ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ("R&D &amp; ops", "R&amp;D &amp;amp; ops"),
    ("plain *bold* text", "plain *bold* text"),
])
def test_slack_text_cannot_mention_or_link(typed, shown):
    body = channels.slack_body(outgoing(subject=typed, body=typed), ack_url=None)
    assert body["text"] == shown
    assert [b["text"]["text"] for b in body["blocks"][:2]] == [f"*{shown}*", shown]
    assert "<" not in json.dumps(body["blocks"][:2]).replace("\\u003c", "<").replace("&lt;", "")


def test_slack_and_teams_carry_the_acknowledge_link_as_a_link_or_button():
    slack = channels.slack_body(outgoing(), ack_url=f"{BASE}/ack/1.2.x")
    assert {"type": "mrkdwn", "text": f"<{BASE}/ack/1.2.x|Acknowledge>"} in [b.get("text") for b in slack["blocks"]]
    teams = channels.teams_body(outgoing(subject="[click](https://evil.example)"), ack_url=f"{BASE}/ack/1.2.x")
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and teams["attachments"][0]["contentType"] == \
        "application/vnd.microsoft.card.adaptive"
    assert card["type"] == "AdaptiveCard" and card["actions"] == \
        [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": f"{BASE}/ack/1.2.x"}]
    # User text is a plain text run (a TextBlock would render the markdown link).
    assert card["body"][0]["inlines"][0] == {"type": "TextRun", "text": "[click](https://evil.example)",
                                             "weight": "Bolder", "size": "Medium"}


@pytest.mark.parametrize("subject,ack,expected_len,ends_with", [
    ("short", None, 5, "short"),
    ("x" * 400, None, 320, "…"),
    ("x" * 400, f"{BASE}/ack/123.4567.abc", 320, f" {BASE}/ack/123.4567.abc"),
    ("a  b\n c", None, 5, "a b c"),
])
def test_sms_text_is_at_most_320_characters_and_keeps_the_whole_link(subject, ack, expected_len, ends_with):
    body = channels.sms_body(outgoing(channel="sms", recipient="+15550100", subject=subject), ack_url=ack)
    assert set(body) == {"to", "text", "dedupe_key", "id"}
    assert (body["to"], body["dedupe_key"], body["id"]) == ("+15550100", "i1:breach:webhook:e1", 7)
    assert len(body["text"]) == expected_len and body["text"].endswith(ends_with)


def test_the_webhook_body_names_the_notification_its_incident_and_link():
    body = channels.webhook_body(outgoing(attempts=2), ack_url=f"{BASE}/ack/t")
    assert body == {
        "id": 7, "dedupe_key": "i1:breach:webhook:e1", "rule": "breach:resolve", "level": "L2",
        "incident": {"id": 1, "title": "Checkout down", "account": "Acme", "severity": "P1"},
        "subject": "[P1] Missed: resolution", "text": "Resolution was due at 09:00 UTC.", "ack_url": f"{BASE}/ack/t",
        "recipient": "Ops hook", "due_at": "2026-03-02T09:00:00+00:00", "attempt": 3,
        "facts": {"title": "Checkout down", "account": "Acme", "severity": "P1"},
    }


STAMP = int(NOW.timestamp())
BODY = b'{"id":1}'


@pytest.mark.parametrize("secret,timestamp,body,header,now,ok", [
    (SECRET, STAMP, BODY, signature(SECRET, STAMP, BODY), NOW, True),
    (SECRET, str(STAMP), BODY, signature(SECRET, STAMP, BODY), NOW + dt.timedelta(seconds=300), True),
    (SECRET, STAMP, b'{"id":2}', signature(SECRET, STAMP, BODY), NOW, False),
    ("another-secret-0000000", STAMP, BODY, signature(SECRET, STAMP, BODY), NOW, False),
    (SECRET, STAMP + 1, BODY, signature(SECRET, STAMP, BODY), NOW, False),
    (SECRET, STAMP, BODY, signature(SECRET, STAMP, BODY), NOW + dt.timedelta(seconds=301), False),
    (SECRET, STAMP, BODY, signature(SECRET, STAMP, BODY), NOW - dt.timedelta(seconds=301), False),
    (SECRET, "soon", BODY, signature(SECRET, STAMP, BODY), NOW, False),
    (SECRET, STAMP, BODY, "v1=00", NOW, False),
    ("", STAMP, BODY, signature("", STAMP, BODY), NOW, False),
])
def test_verify_signature(secret, timestamp, body, header, now, ok):
    assert verify_signature(secret, timestamp, body, header, now=now) is ok


# --------------------------------------------------------------------------
# HTTP outcomes against a real receiver


@pytest.mark.parametrize("path,outcome", [
    ("/ok", "delivered"), ("/status/201", "delivered"),
    ("/status/500", "retry"), ("/status/503", "retry"), ("/status/408", "retry"), ("/status/429", "retry"),
    ("/status/400", "permanent"), ("/status/401", "permanent"), ("/status/404", "permanent"),
    ("/status/410", "permanent"), ("/redirect", "permanent"), ("/slow/2", "retry"),
])
def test_http_answers_decide_delivered_retry_or_permanent(path, outcome):
    with receiver() as rx:
        try:
            channels.post_json(rx.url + path, b"{}", {}, timeout=0.5)
            got = "delivered"
        except DeliveryError as error:
            got = "permanent" if error.permanent else "retry"
            assert "127.0.0.1" in str(error)
    assert got == outcome


@pytest.mark.parametrize("code,outcome", [(200, None), (500, "answered HTTP 500: first words of a long answer")])
def test_a_receiver_that_stalls_mid_body_does_not_hold_the_sender(code, outcome):
    with receiver() as rx:
        started = time.monotonic()
        try:
            channels.post_json(rx.url + f"/trickle/{code}", b"{}", {}, timeout=3)
            got = None
        except DeliveryError as error:
            got = str(error).split("127.0.0.1:", 1)[1].split(" ", 1)[1]
        took = time.monotonic() - started
    assert got == outcome and took < 1.5


@pytest.mark.parametrize("url,permanent,says", [
    (closed_port_url(), False, "refused the connection"),
    ("ftp://127.0.0.1/x", True, "not an http:// or https:// URL"),
    ("file:///etc/passwd", True, "not an http:// or https:// URL"),
])
def test_unreachable_or_non_http_addresses(url, permanent, says):
    with pytest.raises(DeliveryError, match=says) as caught:
        channels.post_json(url, b"{}", {}, timeout=1)
    assert caught.value.permanent is permanent


def test_a_slack_url_path_never_appears_in_an_error():
    with receiver() as rx, pytest.raises(DeliveryError) as caught:
        channels.post_json(rx.url + "/status/500/T000/B000/XXXXSECRET", b"{}", {}, timeout=1)
    assert "XXXXSECRET" not in str(caught.value)


@pytest.mark.parametrize("endpoint,says", [
    (None, "no longer exists"),
    (Endpoint(1, "Ops", "webhook", "http://127.0.0.1:9/x", SECRET, is_enabled=False), "is disabled"),
    (Endpoint(1, "Ops", "slack", "http://127.0.0.1:9/x"), "now a slack endpoint"),
    (Endpoint(1, "Ops", "webhook", "http://127.0.0.1:9/x", ""), "no signing secret"),
])
def test_a_missing_disabled_or_unsigned_endpoint_is_a_permanent_failure(endpoint, says):
    with pytest.raises(DeliveryError, match=says) as caught:
        channels.send_http(outgoing(), endpoint, ack_url=None, now=NOW)
    assert caught.value.permanent


def test_reprs_hide_secrets():
    endpoint = Endpoint(1, "Ops", "webhook", "http://x", SECRET)
    sender = ChannelSender(now=NOW, base_url=BASE, link_key=b"link-key-secret", smtp_password="smtp-password",
                           endpoints={1: endpoint})
    assert all(s not in repr(sender) for s in (SECRET, "link-key-secret", "smtp-password"))


# --------------------------------------------------------------------------
# One whole pass over every channel, with real servers


class MailSink:
    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody"):
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_sink():
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, sink
    controller.stop()


def configure(eng, smtp_port: int | None, url: str) -> dict[str, int]:
    with session_scope(eng) as session:
        if smtp_port is not None:
            save_smtp_settings(session, host="127.0.0.1", port=smtp_port, starttls=False, username="",
                               from_address="desk@example.com", expected_revision=0, actor=SYSTEM, now=NOW)
        ids = {}
        for kind, path in (("webhook", "/hook"), ("slack", "/slack"), ("teams", "/teams"), ("sms", "/sms")):
            ids[kind] = endpoints.add_endpoint(session, name=f"{kind} ep", kind=kind, url=url + path,
                                               secret=SECRET if kind in ("webhook", "sms") else "",
                                               actor=ADMIN, now=NOW).id
        return ids


def queue(eng, key: str, channel: str, recipient: str, **extra) -> int:
    with session_scope(eng) as session:
        row = enqueue(session, Draft(rule="breach:resolve", channel=channel, recipient=recipient, dedupe_key=key,
                                     due_at=NOW, subject="[P1] Missed: resolution", body="It was due at 09:00.",
                                     payload={"title": "Checkout down", "account": "Acme", "severity": "P1"},
                                     **extra), now=NOW)
        assert row is not None
        return row.id


def test_one_pass_delivers_every_channel_with_dedupe_keys_links_and_signatures(engine, smtp_sink):
    controller, sink = smtp_sink
    sink.messages.clear()
    ana = make_user(engine, "ana", "csm")
    with receiver() as rx:
        ids = configure(engine, controller.port, rx.url)
        mail_id = queue(engine, "k-mail", "email", "ana@example.com", user_id=ana)
        inbox_id = queue(engine, "k-inbox", "inbox", "Ana", user_id=ana)
        queue(engine, "k-hook", "webhook", "webhook ep", endpoint_id=ids["webhook"])
        queue(engine, "k-slack", "slack", "slack ep", endpoint_id=ids["slack"])
        queue(engine, "k-teams", "teams", "teams ep", endpoint_id=ids["teams"], level="L2")
        sms_id = queue(engine, "k-sms", "sms", "+15550100", endpoint_id=ids["sms"], level="L2")
        queue(engine, "k-refused", "email", "nobody@example.com")
        summary = deliver(engine, now=NOW, worker="w1", base_url=BASE)
        assert summary.as_dict() == {"due": 7, "sent": 6, "failed": 1, "retrying": 0}
        got = {path: (headers, body) for path, headers, body in rx.deliveries}
    assert set(got) == {"/hook", "/slack", "/teams", "/sms"}

    with session_scope(engine) as session:
        key = links.link_key(session)
        states = dict(session.execute(select(Notification.dedupe_key, Notification.state)).all())
        refused = session.scalar(select(Notification.last_error).where(Notification.dedupe_key == "k-refused"))
    assert states == {"k-mail": "sent", "k-inbox": "sent", "k-hook": "sent", "k-slack": "sent", "k-teams": "sent",
                      "k-sms": "sent", "k-refused": "dead"}
    assert refused.startswith("permanent failure: The email server refused this recipient: nobody@example.com")

    # Email: the dedupe header, and the person's own acknowledge link.
    [(rcpt, raw)] = sink.messages
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert rcpt == ["ana@example.com"] and parsed["X-Escalation-Desk-Dedupe-Key"] == "k-mail"
    text = parsed.get_body(("plain",)).get_content()
    link = text.split("Acknowledge: ", 1)[1].strip()
    assert links.verify(key, link.rsplit("/", 1)[1], now=NOW) == mail_id
    assert inbox_id  # the inbox row needed no sending

    # Generic webhook and SMS: signed over timestamp and body, dedupe key in two headers.
    for path in ("/hook", "/sms"):
        headers, body = got[path]
        assert verify_signature(SECRET, headers["X-Escalation-Desk-Timestamp"], body,
                                headers["X-Escalation-Desk-Signature"], now=NOW)
        assert headers["Idempotency-Key"] == headers["X-Escalation-Desk-Dedupe-Key"] == json.loads(body)["dedupe_key"]
    hook = json.loads(got["/hook"][1])
    assert (hook["rule"], hook["incident"]["title"], hook["ack_url"]) == ("breach:resolve", "Checkout down", None)
    sms = json.loads(got["/sms"][1])
    assert sms["to"] == "+15550100" and sms["id"] == sms_id and len(sms["text"]) <= 320
    assert links.verify(key, sms["text"].rsplit("/", 1)[1], now=NOW) == sms_id  # a level's message: a link
    assert json.loads(got["/slack"][1])["text"] == "[P1] Missed: resolution"
    teams = json.loads(got["/teams"][1])["attachments"][0]["content"]
    assert teams["actions"][0]["url"].startswith(f"{BASE}/ack/")


@pytest.mark.parametrize("budget,due", [(20.0, 120), (0.0, 50)])
def test_a_pass_drains_a_backlog_batch_after_batch_within_its_budget(engine, budget, due):
    for n in range(120):
        queue(engine, f"k{n:03d}", "inbox", "Ana")
    summary = deliver(engine, now=NOW, worker="w", base_url=BASE, limit=50, budget_s=budget)
    assert summary.as_dict() == {"due": due, "sent": due, "failed": 0, "retrying": 0}


def test_an_smtp_server_that_is_down_is_retried_later(engine):
    with session_scope(engine) as session:
        save_smtp_settings(session, host="127.0.0.1", port=int(closed_port_url().rsplit(":", 1)[1]), starttls=False,
                           username="", from_address="desk@example.com", expected_revision=0, actor=SYSTEM, now=NOW)
    queue(engine, "k", "email", "ana@example.com")
    assert deliver(engine, now=NOW, worker="w", base_url=BASE).as_dict() == \
        {"due": 1, "sent": 0, "failed": 0, "retrying": 1}
    with session_scope(engine) as session:
        row = session.scalar(select(Notification))
        assert (row.state, row.attempts, row.due_at.replace(tzinfo=dt.UTC)) == \
            ("pending", 1, NOW + dt.timedelta(seconds=30))
        assert row.last_error.startswith("attempt 1 failed: Could not reach the email server at 127.0.0.1:")


def test_email_without_smtp_settings_is_a_dead_letter_that_says_what_to_do(engine):
    queue(engine, "k", "email", "ana@example.com")
    assert deliver(engine, now=NOW, worker="w", base_url=BASE).failed == 1
    with session_scope(engine) as session:
        row = session.scalar(select(Notification))
        assert row.state == "dead" and "No email server is configured" in row.last_error
        with pytest.raises(EndpointForbidden):
            retry_dead_letter(session, row.id, actor=Actor(id=None, name="Lee", role=Role.LEAD), now=NOW)
        retry_dead_letter(session, row.id, actor=ADMIN, now=NOW)
        assert row.state == "pending"
        with pytest.raises(RetryRefused):
            retry_dead_letter(session, row.id, actor=ADMIN, now=NOW)
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "notification")) == "retry"


# --------------------------------------------------------------------------
# Endpoint management


@pytest.mark.parametrize("changes,says", [
    ({"name": "  "}, "Give the endpoint a name"),
    ({"name": "x" * 81}, "keep it to 80"),
    ({"name": "ops\u200bhook"}, "invisible control character"),
    ({"kind": "pager"}, "Unknown endpoint kind 'pager'"),
    ({"url": ""}, "Give the endpoint's address"),
    ({"url": "ftp://hooks.example/x"}, "must start with https://"),
    ({"url": "javascript:alert(1)"}, "must start with https://"),
    ({"url": "https:///nohost"}, "must start with https://"),
    ({"url": "https://hooks.example/a b"}, "space or a control character"),
    ({"url": "https://hooks.example:99999/x"}, "invalid port"),
    ({"url": "https://h.example/" + "x" * 2000}, "the limit is 2000"),
    ({"secret": ""}, "signs every message"),
    ({"secret": "short"}, "16 to 200 characters"),
    ({"secret": "é" * 20}, "plain printable ASCII"),
    ({"kind": "sms", "secret": ""}, "A sms endpoint signs every message"),
    ({"levels": ["L1", "L9"]}, "Unknown escalation level L9"),
])
def test_an_invalid_endpoint_is_refused_with_what_to_fix(engine, changes, says):
    values = dict(name="Ops hook", kind="webhook", url="https://hooks.example/in", secret=SECRET, levels=["L2"])
    values.update(changes)
    with session_scope(engine) as session, pytest.raises(EndpointError, match=says):
        endpoints.add_endpoint(session, **values, actor=ADMIN, now=NOW)


@pytest.mark.parametrize("role", [Role.LEAD, Role.CSM, None])
def test_only_admins_manage_endpoints(engine, role):
    actor = Actor(id=None, name="Sam", role=role)
    with session_scope(engine) as session, pytest.raises(EndpointForbidden, match="Only admins"):
        endpoints.add_endpoint(session, name="x", kind="slack", url="https://hooks.slack.com/x", actor=actor, now=NOW)


def test_endpoints_are_listed_masked_changed_with_versions_and_disabled(engine):
    slack_url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXabcd"
    with session_scope(engine) as session:
        hook = endpoints.add_endpoint(session, name="Ops hook", kind="webhook", url="https://hooks.example/in",
                                      secret=SECRET, levels=["l3", "L1"], actor=ADMIN, now=NOW)
        slack = endpoints.add_endpoint(session, name="Ops Slack", kind="slack", url=slack_url, actor=ADMIN, now=NOW)
        with pytest.raises(EndpointError, match="already an endpoint named 'ops slack'"):
            endpoints.add_endpoint(session, name="ops slack", kind="slack", url=slack_url, actor=ADMIN, now=NOW)
    assert hook.levels == ("L1", "L3") and hook.secret == "set (…6789)"
    assert slack.url == "https://hooks.slack.com/…abcd" and "T000" not in slack.url
    with session_scope(engine) as session:
        changed = endpoints.change_endpoint(session, hook.id, expected_version=hook.version, actor=ADMIN, now=NOW,
                                            secret="", levels=[])
        assert changed.levels == () and changed.secret == "set (…6789)"  # an empty secret keeps the stored one
        with pytest.raises(EndpointError, match="Someone changed the endpoint 'Ops hook'"):
            endpoints.disable_endpoint(session, hook.id, expected_version=hook.version, actor=ADMIN, now=NOW)
        endpoints.disable_endpoint(session, hook.id, expected_version=changed.version, actor=ADMIN, now=NOW)
    with session_scope(engine) as session:
        listed = endpoints.list_endpoints(session)
        audit_text = json.dumps([e.changes for e in session.scalars(select(AuditEntry))])
    assert [(e.name, e.is_enabled) for e in listed] == [("Ops Slack", True), ("Ops hook", False)]
    assert SECRET not in audit_text and "XXXXXXXXXXXX" not in audit_text


def test_send_test_reports_what_the_receiver_did(engine):
    with receiver() as rx:
        with session_scope(engine) as session:
            ok = endpoints.add_endpoint(session, name="Good", kind="sms", url=rx.url + "/ok", secret=SECRET,
                                        actor=ADMIN, now=NOW)
            bad = endpoints.add_endpoint(session, name="Bad", kind="teams", url=rx.url + "/status/404",
                                         actor=ADMIN, now=NOW)
        with pytest.raises(EndpointError, match="phone number"):
            endpoints.send_test(engine, ok.id, actor=ADMIN, now=NOW)
        assert endpoints.send_test(engine, ok.id, actor=ADMIN, now=NOW, to="+15550100").startswith(
            "The test message reached Good")
        with pytest.raises(EndpointError, match=r"did not arrive: .*answered HTTP 404"):
            endpoints.send_test(engine, bad.id, actor=ADMIN, now=NOW)
        with pytest.raises(EndpointForbidden):
            endpoints.send_test(engine, ok.id, actor=dataclasses.replace(ADMIN, role=Role.LEAD), now=NOW)
        [(_, headers, body)] = [d for d in rx.deliveries if d[0] == "/ok"]
    assert json.loads(body)["to"] == "+15550100"
    assert verify_signature(SECRET, headers["X-Escalation-Desk-Timestamp"], body,
                            headers["X-Escalation-Desk-Signature"], now=NOW)
