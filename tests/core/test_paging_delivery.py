"""The climb delivered for real: an aiosmtpd server and an HTTP receiver (SMS gateway, a partner's webhook) on loopback.

growth-engine P1 incident at T0 (its L3 step alert is due at once). L3's schedule: Ana (primary,
email), Ben (secondary, email and SMS), and a partner outside the app as manager (email and their
webhook); 5 minutes to acknowledge. `python -m core tick`'s pass (`scheduler.tick`) runs at T0,
T0+5 and T0+10: the primary's email arrives, then the secondary's (and his SMS), then the
manager's. The manager's emailed link acknowledges the page, and the next pass tells Ana and Ben
to stand down.
"""

from __future__ import annotations

import email
import email.policy
import json
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.alerts import links, scheduler
from core.alerts.acknowledge import acknowledge
from core.communication.smtp import save_smtp_settings
from core.incident import flows
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import (
    Account,
    ExternalContact,
    Incident,
    NotificationEndpoint,
    NotificationRule,
    OnCallLayer,
    OnCallSchedule,
    Page,
    User,
)
from tests.conftest import make_user
from tests.core.http_receiver import receiver
from tests.core.test_alert_channels import SECRET, MailSink, _free_port
from tests.core.test_alert_scheduler import MIN, T0

BASE = "https://desk.example"


@pytest.fixture(scope="module")
def mail_server():
    """A real SMTP server (aiosmtpd) on loopback for this module, and what it received."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, sink
    controller.stop()


def _setup(engine, smtp_port: int, url: str) -> int:
    owner = make_user(engine, "olivia", "csm")
    ana, ben = make_user(engine, "ana", "csm"), make_user(engine, "ben", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        save_smtp_settings(s, host="127.0.0.1", port=smtp_port, starttls=False, username="",
                           from_address="desk@example.com", expected_revision=0, actor=SYSTEM, now=T0)
        gateway = NotificationEndpoint(name="sms gateway", kind="sms", url=f"{url}/sms", secret=SECRET, levels=[])
        partner_hook = NotificationEndpoint(name="partner hook", kind="webhook", url=f"{url}/partner",
                                            secret=SECRET, levels=["L4"])
        s.add_all([gateway, partner_hook])
        s.flush()
        priya = ExternalContact(name="Priya (partner)", email="priya@partner.example", endpoint_id=partner_hook.id)
        s.add(priya)
        s.get(User, ben).phone = "+44 20 7946 0000"
        s.add_all([NotificationRule(user_id=ben, position=1, channel="email", delay_minutes=0),
                   NotificationRule(user_id=ben, position=2, channel="sms", delay_minutes=0)])
        s.flush()
        schedule = OnCallSchedule(name="Expert support", level="L3", manager=f"c:{priya.id}",
                                  ack_timeout_minutes=5, repeats=1, ack_expires_minutes=30)
        s.add(schedule)
        s.flush()
        for position, who in ((1, ana), (2, ben)):
            s.add(OnCallLayer(schedule_id=schedule.id, position=position, name=f"Layer {position}",
                              rotation="weekly", start_local="2026-01-05T09:00", time_zone="UTC",
                              members=[{"who": f"u:{who}"}]))
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=owner)
        s.add(account)
        s.flush()
        return flows.open_incident(
            s, account_id=account.id, title="Payments down", summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=T0, detected_at=T0,
            owner_id=owner).id


def _mail(sink, since: int) -> list[tuple[str, str, str]]:
    """(recipient, subject, plain text) of the messages received since message number `since`, to paged people."""
    found = []
    for rcpt, raw in sink.messages[since:]:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        if rcpt[0] != "olivia@example.com":  # the owner's own acknowledge warnings are not the page's
            found.append((rcpt[0], str(parsed["Subject"]), parsed.get_body(("plain",)).get_content()))
    return found


def test_the_page_climbs_primary_secondary_manager_over_real_email_sms_and_webhook(engine, mail_server):
    controller, sink = mail_server
    sink.messages.clear()
    with receiver() as rx:
        iid = _setup(engine, controller.port, rx.url)
        scheduler.tick(engine, now=T0, worker="w", base_url=BASE)
        first = _mail(sink, 0)
        assert [(to, "primary on call" in subject) for to, subject, _t in first] == [("ana@example.com", True)]
        assert rx.deliveries == []

        seen = len(sink.messages)
        scheduler.tick(engine, now=T0 + 5 * MIN, worker="w", base_url=BASE)
        second = _mail(sink, seen)
        assert [(to, "secondary on call" in subject) for to, subject, _t in second] == [("ben@example.com", True)]
        [(path, _headers, body)] = rx.deliveries
        sms = json.loads(body)
        assert (path, sms["to"]) == ("/sms", "+44 20 7946 0000") and f"{BASE}/ack/" in sms["text"]

        seen = len(sink.messages)
        scheduler.tick(engine, now=T0 + 10 * MIN, worker="w", base_url=BASE)
        [(to, subject, text)] = _mail(sink, seen)
        assert to == "priya@partner.example" and "manager" in subject
        assert "acknowledges this page only" in text
        hook = json.loads(rx.bodies("/partner")[0])
        assert hook["recipient"] == "Priya (partner)" and hook["ack_url"].startswith(f"{BASE}/ack/")

        # Priya clicks her link: the page is acknowledged, and the next pass tells Ana and Ben to stand down.
        token = text.split(f"{BASE}/ack/", 1)[1].split()[0]
        with session_scope(engine) as s:
            acknowledge(s, links.verify(links.link_key(s), token, now=T0 + 11 * MIN), now=T0 + 11 * MIN)
        seen = len(sink.messages)
        scheduler.tick(engine, now=T0 + 11 * MIN, worker="w", base_url=BASE)
        stand_down = _mail(sink, seen)
        assert sorted(to for to, _s, _t in stand_down) == ["ana@example.com", "ben@example.com"]
        assert all("Priya (partner) acknowledged the page" in subject for _to, subject, _t in stand_down)
        assert all("stand down" in text for _to, _s, text in stand_down)

        # Acknowledged: nobody else is paged, and the incident's level was never raised by the page.
        seen = len(sink.messages)
        scheduler.tick(engine, now=T0 + 20 * MIN, worker="w", base_url=BASE)
        assert _mail(sink, seen) == []
    with session_scope(engine) as s:
        page = s.scalars(select(Page)).one()
        assert (page.state, page.acknowledged_by) == ("acknowledged", "Priya (partner)")
        incident = s.get(Incident, iid)
        assert incident.acknowledged_at is None  # an outside contact's link records nothing on the incident
