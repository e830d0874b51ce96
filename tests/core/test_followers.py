"""Incident followers (core.incident.followers): one row per person, and a notice per change, on SQLite and PostgreSQL.

growth-engine P1 incidents on an enterprise account; the changes are made by a lead who also follows
(and so never hears about their own change).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.incident import flows
from core.incident import followers as follows
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, AuditEntry, IncidentFollower, Notification, User
from tests.conftest import make_user

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def _setup(engine, *, drill: bool = False) -> dict[str, int]:
    """Owner olivia (CSM), lead lena, followers fred (CSM) and eddie (no email address); one incident at T0."""
    ids = {name: make_user(engine, name, role) for name, role in
           (("olivia", "csm"), ("lena", "lead"), ("fred", "csm"), ("eddie", "csm"))}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        s.get(User, ids["eddie"]).email = ""
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=ids["olivia"])
        s.add(account)
        s.flush()
        ids["incident"] = flows.open_incident(
            s, account_id=account.id, title="Payments down", summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=T0, detected_at=T0,
            owner_id=ids["olivia"], is_drill=drill).id
    return ids


def _actor(ids: dict[str, int], name: str, role: Role) -> Actor:
    return Actor(id=ids[name], name=name.title(), role=role)


def _follow_all(engine, ids: dict[str, int]) -> None:
    lead = _actor(ids, "lena", Role.LEAD)
    with session_scope(engine) as s:
        for name in ("fred", "eddie", "lena"):
            follows.follow(s, ids["incident"], ids[name], lead, T0)


def _notices(engine, since: int = 0) -> list[tuple[str, str, str]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification).where(Notification.id > since, Notification.rule.like("follow:%"))
                         .order_by(Notification.id))
        return sorted((n.rule, n.channel, n.recipient) for n in rows)


def _last(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.max(Notification.id))) or 0


def _expected(rule: str) -> list[tuple[str, str, str]]:
    # Fred in the app and by email, Eddie (no address) in the app only, Lena (who made the change) not at all.
    return sorted([(rule, "inbox", "Fred"), (rule, "email", "fred@example.com"), (rule, "inbox", "Eddie")])


def test_following_twice_keeps_one_row_and_unfollowing_twice_is_harmless(engine):
    ids = _setup(engine)
    fred = _actor(ids, "fred", Role.CSM)
    with session_scope(engine) as s:
        assert follows.follow(s, ids["incident"], ids["fred"], fred, T0) is True
    with session_scope(engine) as s:
        assert follows.follow(s, ids["incident"], ids["fred"], fred, T0 + MIN) is False
        assert follows.is_following(s, ids["incident"], ids["fred"])
        assert [f.name for f in follows.followers_of(s, ids["incident"])] == ["Fred"]
        assert s.scalar(select(func.count()).select_from(IncidentFollower)) == 1
    with session_scope(engine) as s:
        assert follows.unfollow(s, ids["incident"], ids["fred"], fred, T0 + 2 * MIN) is True
        assert follows.unfollow(s, ids["incident"], ids["fred"], fred, T0 + 2 * MIN) is False
        assert not follows.is_following(s, ids["incident"], ids["fred"])
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == follows.AUDIT_ENTITY)
                            .order_by(AuditEntry.id)).all()
    assert actions == ["follow", "unfollow"]


def test_only_leads_and_admins_add_someone_else(engine):
    ids = _setup(engine)
    with session_scope(engine) as s, pytest.raises(follows.FollowError, match="only for themselves"):
        follows.follow(s, ids["incident"], ids["eddie"], _actor(ids, "fred", Role.CSM), T0)
    with session_scope(engine) as s:
        assert follows.follow(s, ids["incident"], ids["eddie"], _actor(ids, "lena", Role.LEAD), T0)
    with session_scope(engine) as s:
        with pytest.raises(follows.FollowError, match="does not exist"):
            follows.follow(s, 999_999, ids["eddie"], SYSTEM, T0)
        with pytest.raises(follows.FollowError, match="no team member"):
            follows.follow(s, ids["incident"], 999_999, SYSTEM, T0)


def test_level_severity_and_status_changes_each_notify_every_follower_but_the_actor(engine):
    ids = _setup(engine)
    _follow_all(engine, ids)
    lead = _actor(ids, "lena", Role.LEAD)
    iid = ids["incident"]
    changes = [
        ("follow:level", lambda s: flows.escalate(s, incident_id=iid, to_level="L3", reason="Needs experts",
                                                  actor=lead, now=T0 + MIN)),
        ("follow:severity", lambda s: flows.change_severity(s, incident_id=iid, severity="P0", reason="All down",
                                                            actor=lead, now=T0 + 2 * MIN)),
        ("follow:status", lambda s: flows.move_status(s, incident_id=iid, target="acknowledged", actor=lead,
                                                      now=T0 + 3 * MIN)),
        ("follow:status", lambda s: flows.record_milestone(s, incident_id=iid, milestone=Milestone.MOBILIZED,
                                                           actor=lead, now=T0 + 4 * MIN)),
    ]
    for rule, change in changes:
        seen = _last(engine)
        with session_scope(engine) as s:
            change(s)
        assert _notices(engine, seen) == _expected(rule), rule
    with session_scope(engine) as s:
        email = s.scalars(select(Notification).where(Notification.rule == "follow:severity",
                                                     Notification.channel == "email")).one()
        assert email.subject == f"[P0] #{iid} severity P1 → P0: Payments down"
        assert "Lena changed the severity" in email.body and "for Acme" in email.body
        assert f"/incident?id={iid}" in email.body and email.user_id == ids["fred"]
        status = s.scalars(select(Notification).where(Notification.rule == "follow:status",
                                                      Notification.channel == "inbox",
                                                      Notification.recipient == "Eddie")
                           .order_by(Notification.id)).all()
        assert [n.subject.split(": ")[0] for n in status] == [f"[P0] #{iid} status New → Acknowledged",
                                                              f"[P0] #{iid} status Acknowledged → Team mobilised"]


def test_a_milestone_that_moves_no_status_notifies_nobody(engine):
    ids = _setup(engine)
    _follow_all(engine, ids)
    seen = _last(engine)
    with session_scope(engine) as s:
        flows.record_milestone(s, incident_id=ids["incident"], milestone=Milestone.CLIENT_NOTIFIED,
                               actor=_actor(ids, "lena", Role.LEAD), now=T0 + MIN)
    assert _notices(engine, seen) == []


def test_someone_else_changing_it_reaches_the_lead_too_and_unfollowing_stops_it(engine):
    ids = _setup(engine)
    _follow_all(engine, ids)
    owner = _actor(ids, "olivia", Role.CSM)
    with session_scope(engine) as s:
        follows.unfollow(s, ids["incident"], ids["fred"], _actor(ids, "fred", Role.CSM), T0)
    seen = _last(engine)
    with session_scope(engine) as s:
        flows.move_status(s, incident_id=ids["incident"], target="acknowledged", actor=owner, now=T0 + MIN)
    assert _notices(engine, seen) == sorted([("follow:status", "inbox", "Eddie"), ("follow:status", "inbox", "Lena"),
                                             ("follow:status", "email", "lena@example.com")])


def test_a_follower_of_a_drill_is_told_it_is_a_drill(engine):
    ids = _setup(engine, drill=True)
    _follow_all(engine, ids)
    with session_scope(engine) as s:
        flows.escalate(s, incident_id=ids["incident"], to_level="L3", reason="Drill step", now=T0 + MIN,
                       actor=_actor(ids, "lena", Role.LEAD))
        rows = s.scalars(select(Notification).where(Notification.rule.like("follow:%"))).all()
        assert len(rows) == 3
        for row in rows:
            assert row.subject.startswith("[DRILL] ") and row.body.startswith("DRILL:") and row.payload["drill"]


def test_eight_clicks_at_once_make_one_follower_row_and_one_audit_entry(engine):
    import threading

    ids = _setup(engine)
    fred = _actor(ids, "fred", Role.CSM)
    barrier = threading.Barrier(8)
    results: list[bool] = []
    errors: list[BaseException] = []

    def click() -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                results.append(follows.follow(s, ids["incident"], ids["fred"], fred, T0))
        except BaseException as error:  # reported below: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [False] * 7 + [True]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(IncidentFollower)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.entity_type == follows.AUDIT_ENTITY)) == 1
