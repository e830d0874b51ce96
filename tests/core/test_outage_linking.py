"""Linking an account's incident to a platform outage (core.outage.linking), on SQLite and PostgreSQL.

One enterprise account owned by CSM olivia; incident owner oscar (a CSM who does not own the account);
lead lena, admin ada, and CSM carl who has nothing to do with the account. Two open outages and one
resolved.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.incident import flows
from core.incident.flows import ConflictError, IncidentForbidden
from core.outage import linking
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, AuditEntry, Incident, Outage, TimelineEvent
from tests.conftest import make_user

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
ROLES = {"olivia": Role.CSM, "oscar": Role.CSM, "lena": Role.LEAD, "ada": Role.ADMIN, "carl": Role.CSM}


def _outage(s, title: str, *, started: dt.datetime, status: str = linking.OPEN) -> int:
    outage = Outage(title=title, severity="P0", status=status, started_at=started, created_at=started,
                    updated_at=started, resolved_at=started + MIN if status == linking.RESOLVED else None)
    s.add(outage)
    s.flush()
    return outage.id


def _world(engine) -> dict[str, int]:
    ids = {name: make_user(engine, name, role.value) for name, role in ROLES.items()}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=ids["olivia"])
        s.add(account)
        s.flush()
        ids["account"] = account.id
        ids["older"] = _outage(s, "Login service down", started=T0 - 30 * MIN)
        ids["newer"] = _outage(s, "Payments API down", started=T0 - 10 * MIN)
        ids["resolved"] = _outage(s, "DNS hiccup", started=T0 - 90 * MIN, status=linking.RESOLVED)
        ids["incident"] = _open(s, account.id, owner_id=ids["oscar"]).id
    return ids


def _open(s, account_id: int, *, owner_id: int | None = None, key: str | None = None, answers=None,
          outage_id: int | None = None):
    opening = dict(account_id=account_id, title="Checkout fails", summary="", policy_name="growth-engine",
                   answers=Answers.model_validate(answers or {"business_impact": "major"}), actor=SYSTEM, now=T0,
                   owner_id=owner_id, idempotency_key=key)
    if outage_id is None:
        return flows.open_incident(s, **opening)
    return linking.open_in_outage(s, outage_id=outage_id, **opening)


def _actor(ids: dict[str, int], name: str) -> Actor:
    return Actor(id=ids[name], name=name.title(), role=ROLES[name])


def _linked(engine, incident_id: int) -> int | None:
    with session_scope(engine) as s:
        return s.get(Incident, incident_id).outage_id


@pytest.mark.parametrize("name,allowed", [
    ("ada", True),     # admin
    ("lena", True),    # lead
    ("olivia", True),  # the account's CSM
    ("oscar", True),   # the incident's owner
    ("carl", False),   # another CSM
])
def test_who_may_attach_and_detach(engine, name, allowed):
    ids = _world(engine)
    actor = _actor(ids, name)
    if not allowed:
        with pytest.raises(IncidentForbidden, match="may not change incident"), session_scope(engine) as s:
            linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=actor, now=T0)
        assert _linked(engine, ids["incident"]) is None
        with session_scope(engine) as s:  # someone allowed links it; the outsider cannot unlink it either
            linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=SYSTEM, now=T0)
        with pytest.raises(IncidentForbidden), session_scope(engine) as s:
            linking.detach(s, incident_id=ids["incident"], actor=actor, now=T0 + MIN)
        assert _linked(engine, ids["incident"]) == ids["newer"]
        return
    with session_scope(engine) as s:
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=actor, now=T0)
    assert _linked(engine, ids["incident"]) == ids["newer"]
    with session_scope(engine) as s:
        linking.detach(s, incident_id=ids["incident"], actor=actor, now=T0 + MIN)
    assert _linked(engine, ids["incident"]) is None


def test_a_resolved_or_missing_outage_takes_no_incident(engine):
    ids = _world(engine)
    for outage_id, message in ((ids["resolved"], "is resolved"), (9999, "no platform outage #9999")):
        with pytest.raises(linking.OutageError, match=message), session_scope(engine) as s:
            linking.attach(s, incident_id=ids["incident"], outage_id=outage_id, actor=SYSTEM, now=T0)
    assert _linked(engine, ids["incident"]) is None
    with pytest.raises(linking.OutageError, match="not part of a platform outage"), session_scope(engine) as s:
        linking.detach(s, incident_id=ids["incident"], actor=SYSTEM, now=T0)


def test_a_stale_version_is_refused(engine):
    ids = _world(engine)
    with session_scope(engine) as s:
        seen = s.get(Incident, ids["incident"]).version
        flows.add_note(s, incident_id=ids["incident"], text="someone else wrote", actor=SYSTEM, now=T0)
        s.get(Incident, ids["incident"]).summary = "changed meanwhile"  # a change that bumps the version
    with pytest.raises(ConflictError), session_scope(engine) as s:
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=_actor(ids, "lena"), now=T0,
                       expected_version=seen)
    assert _linked(engine, ids["incident"]) is None
    with session_scope(engine) as s:
        current = s.get(Incident, ids["incident"]).version
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=_actor(ids, "lena"), now=T0,
                       expected_version=current)
    assert _linked(engine, ids["incident"]) == ids["newer"]


def test_attach_move_and_detach_are_on_the_timeline_and_in_the_audit_log(engine):
    ids = _world(engine)
    lena = _actor(ids, "lena")
    with session_scope(engine) as s:
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["older"], actor=lena, now=T0)
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["older"], actor=lena, now=T0)  # no-op
        linking.attach(s, incident_id=ids["incident"], outage_id=ids["newer"], actor=lena, now=T0 + MIN)
        linking.detach(s, incident_id=ids["incident"], actor=lena, now=T0 + 2 * MIN)
    with session_scope(engine) as s:
        events = s.scalars(select(TimelineEvent.summary).where(
            TimelineEvent.incident_id == ids["incident"], TimelineEvent.kind == "outage").order_by(TimelineEvent.id))
        audits = s.execute(select(AuditEntry.action, AuditEntry.changes, AuditEntry.actor_name).where(
            AuditEntry.entity_type == "incident", AuditEntry.entity_id == str(ids["incident"]),
            AuditEntry.action.like("outage:%")).order_by(AuditEntry.id))
        assert list(events) == [f"Linked to platform outage #{ids['older']}: Login service down",
                                f"Linked to platform outage #{ids['newer']}: Payments API down",
                                f"Unlinked from platform outage #{ids['newer']}"]
        assert [tuple(a) for a in audits] == [
            ("outage:attach", {"outage_id": [None, ids["older"]]}, "Lena"),
            ("outage:attach", {"outage_id": [ids["older"], ids["newer"]]}, "Lena"),
            ("outage:detach", {"outage_id": [ids["newer"], None]}, "Lena"),
        ]


def test_open_outages_newest_first_with_their_counts_and_never_the_resolved(engine):
    ids = _world(engine)
    with session_scope(engine) as s:
        for _ in range(2):
            _open(s, ids["account"], outage_id=ids["older"])
        _open(s, ids["account"], outage_id=ids["newer"])
    with session_scope(engine) as s:
        offered = linking.open_outages(s)
        assert [(o.id, o.title, o.linked) for o in offered] == [
            (ids["newer"], "Payments API down", 1), (ids["older"], "Login service down", 2)]
        assert offered[0].label == f"Outage #{ids['newer']} · P0 · Payments API down (1 account)"
        assert offered[1].label.endswith("(2 accounts)")
        assert [o.id for o in linking.open_outages(s, limit=1)] == [ids["newer"]]


def test_opening_in_an_outage_twice_opens_one_incident_attached_once(engine):
    ids = _world(engine)
    for _ in range(2):  # a double click: the same form token
        with session_scope(engine) as s:
            opened = _open(s, ids["account"], key="form-outage-1", outage_id=ids["newer"])
    with session_scope(engine) as s:
        incidents = s.scalars(select(Incident).where(Incident.idempotency_key == "form-outage-1")).all()
        assert [(i.id, i.outage_id) for i in incidents] == [(opened.id, ids["newer"])]
        attached = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(opened.id),
                                                             AuditEntry.action == "outage:attach")).all()
        assert attached == ["outage:attach"]


def test_opening_in_a_resolved_outage_opens_nothing(engine):
    ids = _world(engine)
    with pytest.raises(linking.OutageError, match="is resolved"), session_scope(engine) as s:
        _open(s, ids["account"], key="form-outage-2", outage_id=ids["resolved"])
    with session_scope(engine) as s:
        assert s.scalar(select(Incident.id).where(Incident.idempotency_key == "form-outage-2")) is None


@pytest.mark.parametrize("answers,offered", [
    ({"other_customers_affected": "yes"}, True),
    ({"other_customers_affected": "no"}, False),
    ({"other_customers_affected": "unknown"}, False),
    ({}, False),
])
def test_the_offer_follows_the_other_customers_answer(answers, offered):
    assert linking.offer_for(answers) is offered
    assert linking.offer_for(Answers.model_validate(answers)) is offered


def test_the_banner_read_offers_only_to_a_standalone_incident_whose_triage_said_yes(engine):
    ids = _world(engine)
    with session_scope(engine) as s:
        yes = _open(s, ids["account"], answers={"other_customers_affected": "yes"}).id
        linked = _open(s, ids["account"], answers={"other_customers_affected": "yes"}, outage_id=ids["older"]).id
    with session_scope(engine) as s:
        assert linking.incident_outage(s, 9999) is None
        plain = linking.incident_outage(s, ids["incident"])
        assert (plain.outage, plain.offer) == (None, [])
        offer = linking.incident_outage(s, yes)
        assert offer.outage is None and [o.id for o in offer.offer] == [ids["newer"], ids["older"]]
        part = linking.incident_outage(s, linked)
        assert part.offer == [] and (part.outage.id, part.outage.title, part.outage.linked) == (
            ids["older"], "Login service down", 1)
        assert part.incident_version == s.get(Incident, linked).version
