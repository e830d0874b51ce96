"""The scheduler pass (core.alerts.scheduler): who is alerted over which channel, once, on SQLite and PostgreSQL.

growth-engine P1 incidents: L3 (expert support, expert-support@hotdash.com, +1-555-EXPERT) is required
from detection; acknowledge within 15 minutes, warned 5 minutes before (house default).
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core.alerts import scheduler
from core.incident import flows
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident, Notification, NotificationEndpoint, Setting, User
from tests.conftest import make_user

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def _setup(engine, incidents: int = 1) -> list[int]:
    """An owner and a CSM, four endpoints (one disabled, one for L1 only), and growth-engine P1 incidents at T0."""
    owner = make_user(engine, "olivia", "csm")
    csm = make_user(engine, "carl", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        s.add_all([
            NotificationEndpoint(name="hook", kind="webhook", url="https://hooks.example/a", levels=[]),
            NotificationEndpoint(name="ops-l3", kind="slack", url="https://hooks.slack.example/b", levels=["L3"]),
            NotificationEndpoint(name="ops-l1", kind="slack", url="https://hooks.slack.example/c", levels=["L1"]),
            NotificationEndpoint(name="gateway", kind="sms", url="https://sms.example/send", levels=[]),
            NotificationEndpoint(name="old-teams", kind="teams", url="https://teams.example/d", levels=[],
                                 is_enabled=False),
        ])
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=csm)
        s.add(account)
        s.flush()
        return [flows.open_incident(
            s, account_id=account.id, title=f"Payments down {n}", summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=T0, detected_at=T0,
            owner_id=owner).id for n in range(incidents)]


def _rows(engine, since_id: int = 0) -> set[tuple[str, str, str]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification).where(Notification.id > since_id))
        return {(n.rule, n.channel, n.recipient) for n in rows}


def _last_id(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.max(Notification.id))) or 0


def _incident(engine, iid: int) -> Incident:
    with session_scope(engine) as s:
        return s.get(Incident, iid)


def test_a_pass_alerts_the_right_people_over_the_right_channels_once(engine):
    (iid,) = _setup(engine)
    assert scheduler.queue_due(engine, now=T0) == 4
    assert _rows(engine) == {
        ("step:L3", "email", "expert-support@hotdash.com"),  # L3's published contact
        ("step:L3", "sms", "+1-555-EXPERT"),                 # through the SMS gateway
        ("step:L3", "webhook", "hook"),                      # hears every alert
        ("step:L3", "slack", "ops-l3"),                      # hears L3's alerts (not ops-l1, not the disabled one)
    }
    version = _incident(engine, iid).version
    assert _incident(engine, iid).next_alert_at == T0 + 10 * MIN
    # Nothing new: the next pass reads no incident, and a forced re-read queues no repeat.
    assert scheduler.queue_due(engine, now=T0 + MIN) == 0
    with session_scope(engine) as s:
        s.execute(update(Incident).where(Incident.id == iid).values(next_alert_at=T0))
    assert scheduler.queue_due(engine, now=T0 + MIN) == 0
    assert _incident(engine, iid).next_alert_at == T0 + 10 * MIN
    # The owner's warning: in the app and by email, and on the endpoint that hears everything.
    seen = _last_id(engine)
    assert scheduler.queue_due(engine, now=T0 + 10 * MIN) == 3
    assert _rows(engine, seen) == {("warn:acknowledge", "inbox", "Olivia"),
                                   ("warn:acknowledge", "email", "olivia@example.com"),
                                   ("warn:acknowledge", "webhook", "hook")}
    # Moving the schedule is not an edit: nobody's open page gets a conflict from it.
    assert _incident(engine, iid).version == version


def test_the_rows_say_what_is_due_by_when_and_what_to_do(engine):
    (iid,) = _setup(engine)
    scheduler.queue_due(engine, now=T0 + 10 * MIN)
    with session_scope(engine) as s:
        row = s.scalars(select(Notification).where(Notification.rule == "warn:acknowledge",
                                                   Notification.channel == "email")).one()
        assert row.subject == "[P1] Acknowledge due in 5 min: Payments down 0"
        assert "due by 2026-03-02 09:15 UTC" in row.body and "Acknowledge the incident" in row.body
        assert row.dedupe_key.startswith(f"incident:{iid}:warn:acknowledge:20260302T091500Z:email:u")
        assert row.payload["deadline"] == "2026-03-02T09:15:00+00:00" and row.state == "pending"
        assert row.user_id is not None and row.level is None


def test_a_person_reads_the_times_in_their_own_zone_and_channels_in_utc(engine):
    _setup(engine)
    with session_scope(engine) as s:
        owner = s.scalars(select(User).where(User.username == "olivia")).one()
        owner.time_zone, owner.time_zone_chosen = "Europe/Paris", True
    scheduler.queue_due(engine, now=T0 + 10 * MIN)
    with session_scope(engine) as s:
        bodies = {n.channel: n.body for n in s.scalars(select(Notification).where(
            Notification.rule == "warn:acknowledge"))}
    assert "due by 2026-03-02 10:15 CET (09:15 UTC)" in bodies["email"]
    assert "due by 2026-03-02 10:15 CET (09:15 UTC)" in bodies["inbox"]
    assert "due by 2026-03-02 09:15 UTC" in bodies["webhook"]


def test_a_change_makes_a_new_reminder_and_no_change_makes_none(engine):
    (iid,) = _setup(engine)
    scheduler.queue_due(engine, now=T0 + 10 * MIN)
    # P1 -> P2: acknowledge within 1h now, warned 10 minutes before: a new warning, under a new name.
    with session_scope(engine) as s:
        flows.change_severity(s, incident_id=iid, severity="P2", reason="fewer users than thought", actor=SYSTEM,
                              now=T0 + 11 * MIN)
    seen = _last_id(engine)
    assert scheduler.queue_due(engine, now=T0 + 11 * MIN) == 0
    assert scheduler.queue_due(engine, now=T0 + 50 * MIN) == 3
    assert {rule for rule, _, _ in _rows(engine, seen)} == {"warn:acknowledge"}
    with session_scope(engine) as s:
        keys = set(s.scalars(select(Notification.dedupe_key).where(Notification.rule == "warn:acknowledge")))
    assert {k.split(":")[4] for k in keys} == {"20260302T091500Z", "20260302T100000Z"}
    with session_scope(engine) as s:
        s.execute(update(Incident).where(Incident.id == iid).values(next_alert_at=T0))
    assert scheduler.queue_due(engine, now=T0 + 51 * MIN) == 0


def test_resolving_clears_the_schedule(engine):
    (iid,) = _setup(engine)
    with session_scope(engine) as s:
        flows.move_status(s, incident_id=iid, target="resolved", actor=SYSTEM, now=T0 + MIN)
    assert _incident(engine, iid).next_alert_at is None
    assert scheduler.queue_due(engine, now=T0 + 2 * MIN) == 0


def test_incidents_from_before_alerts_are_planned_once(engine):
    ids = _setup(engine, incidents=2)
    with session_scope(engine) as s:
        s.execute(update(Incident).values(next_alert_at=None))
        s.execute(Setting.__table__.delete().where(Setting.key == scheduler.BACKFILL_MARKER))
    assert scheduler.backfill(engine, now=T0 + 2 * MIN) == 2
    assert {_incident(engine, i).next_alert_at for i in ids} == {T0}
    # Once done, a pass never looks for them again (one settings row read, no scan).
    with session_scope(engine) as s:
        s.execute(update(Incident).values(next_alert_at=None))
    assert scheduler.backfill(engine, now=T0 + 3 * MIN) == 0
    assert scheduler.queue_due(engine, now=T0 + 3 * MIN) == 0
    assert {_incident(engine, i).next_alert_at for i in ids} == {None}


def test_batches_cover_every_due_incident(engine):
    _setup(engine, incidents=5)
    assert scheduler.queue_due(engine, now=T0, limit=2) == 5 * 4
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.next_alert_at <= T0)) == 0


@pytest.mark.slow
def test_two_workers_split_the_work_and_queue_each_notification_once(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    _setup(engine, incidents=12)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            counts.append(scheduler.queue_due(engine, now=T0, limit=3))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == 12 * 4
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 12 * 4
