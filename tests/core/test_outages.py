"""Platform outages on SQLite and PostgreSQL: open, link, one update to many clients, resolve, the emergency count.

The bulk update is checked against the code that plans client updates
(core.sla.schedule.next_due_if_sent) and formats client times
(core.communication.context.format_time), never against hand-written numbers.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.communication.context import format_time
from core.incident import flows as incidents
from core.outage import flows, linking, service
from core.outage.flows import OutageForbidden
from core.outage.linking import OutageError
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.sla.facts import facts_of, pauses_of, policy_of
from core.sla.schedule import next_due_if_sent
from core.statuspage import flows as statuspage
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, AuditEntry, Communication, Incident, Outage
from tests.conftest import NOW, make_user

BASE_URL = "https://desk.example.com"
# Forty zones on every continent, each a different offset or rule, so a time shown in the wrong zone shows.
ZONES = ("Pacific/Pago_Pago", "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
         "America/Chicago", "America/New_York", "America/Caracas", "America/Halifax", "America/St_Johns",
         "America/Sao_Paulo", "America/Noronha", "Atlantic/Azores", "UTC", "Europe/London", "Europe/Paris",
         "Africa/Lagos", "Europe/Athens", "Africa/Cairo", "Europe/Istanbul", "Asia/Tehran", "Asia/Dubai",
         "Asia/Kabul", "Asia/Karachi", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Yangon",
         "Asia/Bangkok", "Asia/Shanghai", "Australia/Eucla", "Asia/Tokyo", "Australia/Darwin", "Australia/Sydney",
         "Australia/Lord_Howe", "Pacific/Noumea", "Pacific/Auckland", "Pacific/Chatham", "Pacific/Tongatapu",
         "Pacific/Kiritimati")
SHARED = {"summary": "A fault in our payments service is failing card payments for several customers.",
          "current_status": "Engineers have rolled back the change and are watching error rates fall.",
          "impact": "Card payments may fail; retrying after a few minutes usually works."}


def _open_incident(s, *, account_id: int, actor: Actor, title: str = "Payments failing") -> int:
    return incidents.open_incident(s, account_id=account_id, title=title, summary="Internal: rollback of v42.",
                                   answers=Answers(business_impact="major"), policy_name="red-status",
                                   actor=actor, now=NOW, detected_at=NOW).id


@pytest.fixture
def world(engine):
    """A lead, two CSMs, and four accounts (two per CSM) each with one open incident detected at NOW."""
    lead_id = make_user(engine, "lead1", "lead")
    csm_a, csm_b = make_user(engine, "csma", "csm"), make_user(engine, "csmb", "csm")
    lead, a, b = Actor(lead_id, "Lead1", Role.LEAD), Actor(csm_a, "Csma", Role.CSM), Actor(csm_b, "Csmb", Role.CSM)
    ids = []
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        for n, (owner, zone) in enumerate([(csm_a, "Europe/Paris"), (csm_a, "Asia/Tokyo"),
                                            (csm_b, "America/New_York"), (csm_b, "Australia/Sydney")]):
            account = Account(name=f"Client {n}", tier="enterprise", owner_id=owner, time_zone=zone)
            s.add(account)
            s.flush()
            ids.append(_open_incident(s, account_id=account.id, actor=lead))
    return SimpleNamespace(engine=engine, lead=lead, a=a, b=b, incident_ids=ids)


def _open(world, actor=None, key=None, incident_ids=()) -> int:
    with session_scope(world.engine) as s:
        return flows.open_outage(s, title="Payments API returning errors", client_impact="Card payments fail.",
                                 summary="Bad deploy of payments v42.", severity="P1", started_at=NOW,
                                 actor=actor or world.lead, now=NOW, idempotency_key=key,
                                 incident_ids=incident_ids).id


def _version(engine, outage_id: int) -> int:
    with session_scope(engine) as s:
        return s.get_one(Outage, outage_id).version


def _count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_opening_twice_with_one_key_opens_one_outage_and_links_the_initial_incidents(world):
    first = _open(world, key="form-123", incident_ids=world.incident_ids[:2])
    again = _open(world, key="form-123", incident_ids=world.incident_ids[:2])
    assert again == first
    assert _count(world.engine, Outage) == 1
    assert _count(world.engine, Incident, Incident.outage_id == first) == 2
    assert _count(world.engine, AuditEntry, AuditEntry.action == "outage:open") == 1


@pytest.mark.parametrize("changes, message", [
    ({"title": "  "}, "short title"),
    ({"severity": "P9"}, "Pick a severity"),
    ({"started_at": NOW + dt.timedelta(minutes=5)}, "in the future"),
])
def test_opening_refuses_bad_input_with_what_to_fix(world, changes, message):
    values = {"title": "Payments down", "client_impact": "", "summary": "", "severity": "P1", "started_at": NOW}
    with session_scope(world.engine) as s, pytest.raises(OutageError, match=message):
        flows.open_outage(s, **{**values, **changes}, actor=world.a, now=NOW)


def test_every_team_role_may_open_but_no_roleless_actor(world):
    for actor in (world.a, world.lead):
        _open(world, actor=actor)
    with session_scope(world.engine) as s, pytest.raises(OutageForbidden):
        flows.open_outage(s, title="x", client_impact="", summary="", severity="P1", started_at=NOW,
                          actor=Actor(world.a.id, "Csma", None), now=NOW)


def test_attach_and_detach_follow_the_incidents_own_rule(world):
    outage_id = _open(world)
    with session_scope(world.engine) as s:
        linking.attach(s, incident_id=world.incident_ids[0], outage_id=outage_id, actor=world.a, now=NOW)
    with session_scope(world.engine) as s, pytest.raises(incidents.IncidentForbidden):
        linking.attach(s, incident_id=world.incident_ids[2], outage_id=outage_id, actor=world.a, now=NOW)
    with session_scope(world.engine) as s:
        assert [i.id for i in service.linked_incidents(s, outage_id)] == [world.incident_ids[0]]
        linking.detach(s, incident_id=world.incident_ids[0], actor=world.a, now=NOW)
        assert service.linked_incidents(s, outage_id) == []


@pytest.mark.parametrize("who, expected_posted, expected_skipped", [
    ("lead", [0, 1, 2, 3], []),
    ("a", [0, 1], [2, 3]),
    ("b", [2, 3], [0, 1]),
])
def test_bulk_update_reaches_what_each_person_may_write_to(world, who, expected_posted, expected_skipped):
    outage_id = _open(world, incident_ids=world.incident_ids)
    with session_scope(world.engine) as s:
        result = flows.bulk_update(s, outage_id=outage_id, expected_version=_version(world.engine, outage_id),
                                   template_key=flows.BULK_TEMPLATE, edits=SHARED, stage="identified",
                                   notify_subscribers=False, actor=getattr(world, who), now=NOW, base_url=BASE_URL)
    assert sorted(o.incident_id for o in result.posted) == [world.incident_ids[i] for i in expected_posted]
    assert sorted(o.incident_id for o in result.not_posted) == [world.incident_ids[i] for i in expected_skipped]
    assert all("not yours" in o.reason for o in result.not_posted)
    assert _count(world.engine, Communication, Communication.channel == "status_page") == len(expected_posted)


def test_one_refusal_is_reported_and_the_others_still_post(world):
    outage_id = _open(world, incident_ids=world.incident_ids)
    refused = world.incident_ids[1]
    with session_scope(world.engine) as s:
        statuspage.ensure_page(s, refused, actor=world.lead, now=NOW)
        statuspage.revoke(s, incident_id=refused, expected_version=None, actor=world.lead, now=NOW)
    with session_scope(world.engine) as s:
        result = flows.bulk_update(s, outage_id=outage_id, expected_version=None, template_key=flows.BULK_TEMPLATE,
                                   edits=SHARED, stage="identified", notify_subscribers=False, actor=world.lead,
                                   now=NOW, base_url=BASE_URL)
    assert [o.incident_id for o in result.not_posted] == [refused]
    assert "revoked" in result.not_posted[0].reason
    assert _count(world.engine, Communication, Communication.channel == "status_page") == 3
    assert _count(world.engine, Communication, Communication.incident_id == refused) == 0


def test_bulk_update_refuses_internal_fields_and_unknown_stages(world):
    outage_id = _open(world, incident_ids=world.incident_ids)
    for edits, stage, message in [({"triage_note": "x"}, "identified", "takes only"),
                                  (SHARED, "panicking", "stage")]:
        with session_scope(world.engine) as s, pytest.raises(OutageError, match=message):
            flows.bulk_update(s, outage_id=outage_id, expected_version=None, template_key=flows.BULK_TEMPLATE,
                              edits=edits, stage=stage, notify_subscribers=False, actor=world.lead, now=NOW,
                              base_url=BASE_URL)
    assert _count(world.engine, Communication) == 0


def test_bulk_update_to_forty_accounts_meets_each_plan_in_each_zone_and_never_twice(engine):
    """The issue's test: 40 linked incidents on 40 accounts in 40 zones, one logged message each."""
    lead = Actor(make_user(engine, "lead1", "lead"), "Lead1", Role.LEAD)
    posted_at = NOW + dt.timedelta(minutes=20)
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        ids = []
        for n, zone in enumerate(ZONES):
            account = Account(name=f"Client {n:02d}", tier="enterprise", time_zone=zone)
            s.add(account)
            s.flush()
            ids.append(_open_incident(s, account_id=account.id, actor=lead, title=f"Payments failing ({n})"))
        outage_id = flows.open_outage(s, title="Payments API returning errors", client_impact="Payments fail.",
                                      summary="Bad deploy.", severity="P1", started_at=NOW, actor=lead, now=NOW,
                                      incident_ids=ids).id
    # What the plan wants next for each incident if a client message goes out at `posted_at`: an email's effect.
    with session_scope(engine) as s:
        planned = {i: next_due_if_sent(facts_of(inc := s.get_one(Incident, i), pauses_of(s, i)), policy_of(inc),
                                       posted_at) for i in ids}
    assert all(planned.values()), "red-status plans client updates for an open P1"
    version = _version(engine, outage_id)
    with session_scope(engine) as s:
        result = flows.bulk_update(s, outage_id=outage_id, expected_version=version, template_key=flows.BULK_TEMPLATE,
                                   edits=SHARED, stage="identified", notify_subscribers=False, actor=lead,
                                   now=posted_at, base_url=BASE_URL)
    assert len(result.posted) == 40 and not result.not_posted
    with session_scope(engine) as s:
        rows = {c.incident_id: c for c in s.scalars(select(Communication).where(Communication.incident_id.in_(ids)))}
        assert sorted(rows) == sorted(ids)
        for incident_id, zone in zip(ids, ZONES, strict=True):
            row, incident = rows[incident_id], s.get_one(Incident, incident_id)
            assert (row.channel, row.public_status, row.template_key) == ("status_page", "identified",
                                                                          flows.BULK_TEMPLATE)
            assert row.sent_at == posted_at.replace(tzinfo=None) or row.sent_at == posted_at
            assert format_time(planned[incident_id], ZoneInfo(zone)) in row.body_text, zone
            assert f"times shown in {zone}" in row.body_text
            assert f"INC-{incident_id}" in row.subject
            assert "Bad deploy" not in row.body_text and "rollback of v42" not in row.body_text
            assert incident.next_client_update_due_at is not None
            assert incident.next_client_update_due_at.replace(tzinfo=None) == \
                planned[incident_id].replace(tzinfo=None)
            assert incident.client_notified_at is not None
    # The same form sent again carries the old version: refused, nothing more is written.
    with session_scope(engine) as s, pytest.raises(OutageError, match="changed since you loaded it"):
        flows.bulk_update(s, outage_id=outage_id, expected_version=version, template_key=flows.BULK_TEMPLATE,
                          edits=SHARED, stage="identified", notify_subscribers=False, actor=lead,
                          now=posted_at + dt.timedelta(seconds=5), base_url=BASE_URL)
    assert _count(engine, Communication) == 40
    assert _version(engine, outage_id) == result.outage_version == version + 1


@pytest.mark.parametrize("who, allowed", [("lead", True), ("a", True), ("b", False)])
def test_resolving_is_for_leads_admins_and_the_owner(world, who, allowed):
    outage_id = _open(world, actor=world.a, incident_ids=world.incident_ids[:2])
    with session_scope(world.engine) as s:
        if allowed:
            flows.resolve_outage(s, outage_id=outage_id, expected_version=None, resolve_incidents=(),
                                 actor=getattr(world, who), now=NOW)
        else:
            with pytest.raises(OutageForbidden, match="leads, admins and the outage's owner"):
                flows.resolve_outage(s, outage_id=outage_id, expected_version=None, resolve_incidents=(),
                                     actor=getattr(world, who), now=NOW)
    with session_scope(world.engine) as s:
        assert s.get_one(Outage, outage_id).status == ("resolved" if allowed else "open")


def test_resolving_resolves_the_chosen_children_each_under_its_own_rule(world):
    outage_id = _open(world, actor=world.a, incident_ids=world.incident_ids[:2])
    with session_scope(world.engine) as s:
        for incident_id in world.incident_ids[2:]:
            linking.attach(s, incident_id=incident_id, outage_id=outage_id, actor=world.lead, now=NOW)
    later = NOW + dt.timedelta(hours=1)
    chosen = [world.incident_ids[0], world.incident_ids[2], world.incident_ids[3]]
    with session_scope(world.engine) as s:
        result = flows.resolve_outage(s, outage_id=outage_id, expected_version=_version(world.engine, outage_id),
                                      resolve_incidents=chosen, actor=world.a, now=later)
    done = {o.incident_id: o.done for o in result.outcomes}
    # csma owns the first two accounts only: the others stay open, reported, for their own CSM to resolve.
    assert done == {world.incident_ids[0]: True, world.incident_ids[2]: False, world.incident_ids[3]: False}
    with session_scope(world.engine) as s:
        statuses = [s.get_one(Incident, i).status for i in world.incident_ids]
        assert statuses == ["resolved", "new", "new", "new"]
        assert s.get_one(Outage, outage_id).resolved_at is not None
    with session_scope(world.engine) as s, pytest.raises(OutageError):
        flows.bulk_update(s, outage_id=outage_id, expected_version=None, template_key=flows.BULK_TEMPLATE,
                          edits=SHARED, stage="resolved", notify_subscribers=False, actor=world.lead, now=later,
                          base_url=BASE_URL)


def test_edit_refuses_a_stale_version(world):
    outage_id = _open(world)
    version = _version(world.engine, outage_id)
    with session_scope(world.engine) as s:
        flows.edit_outage(s, outage_id=outage_id, expected_version=version, title="Payments API down",
                          client_impact="Payments fail.", summary="", severity="P0", actor=world.lead, now=NOW)
    with session_scope(world.engine) as s, pytest.raises(OutageError, match="changed since"):
        flows.edit_outage(s, outage_id=outage_id, expected_version=version, title="Other", client_impact="",
                          summary="", severity="P1", actor=world.lead, now=NOW)


def test_the_emergency_count_takes_an_outage_once_and_keeps_every_incident(world):
    with session_scope(world.engine) as s:
        before = service.emergency_count(s)
    assert (before.emergencies, before.incidents, before.outages, before.accounts_affected) == (4, 4, 0, 0)
    _open(world, incident_ids=world.incident_ids[:3])
    with session_scope(world.engine) as s:
        now = service.emergency_count(s)
        mine = service.emergency_count(s, csm_ids=(world.b.id,))
    assert (now.emergencies, now.incidents, now.outages, now.accounts_affected) == (2, 4, 1, 3)
    # csmb's two accounts: one in the outage, one alone.
    assert (mine.emergencies, mine.incidents, mine.accounts_affected) == (2, 2, 1)


def test_the_list_puts_open_outages_first_and_the_detail_aggregates_each_incident(world):
    first = _open(world, incident_ids=world.incident_ids[:2])
    second = _open(world, incident_ids=world.incident_ids[2:])
    with session_scope(world.engine) as s:
        flows.resolve_outage(s, outage_id=first, expected_version=None, resolve_incidents=(), actor=world.lead,
                             now=NOW)
        flows.bulk_update(s, outage_id=second, expected_version=None, template_key=flows.BULK_TEMPLATE, edits=SHARED,
                          stage="identified", notify_subscribers=False, actor=world.lead, now=NOW, base_url=BASE_URL)
    with session_scope(world.engine) as s:
        listed = service.list_outages(s, page=1, per_page=1)
        linked = service.linked_incidents(s, second)
    assert ([r.id for r in listed.rows], listed.total, listed.pages) == ([second], 2, 2)
    assert [(i.time_zone, i.has_status_page, i.last_client_message_at is not None) for i in linked] == [
        ("America/New_York", True, True), ("Australia/Sydney", True, True)]


def test_a_template_missing_what_it_needs_posts_nothing_and_says_what_to_fill(world):
    outage_id = _open(world, incident_ids=world.incident_ids[:2])
    with session_scope(world.engine) as s:
        result = flows.bulk_update(s, outage_id=outage_id, expected_version=None, template_key="resolution_root_cause",
                                   edits=SHARED, stage="resolved", notify_subscribers=False, actor=world.lead,
                                   now=NOW, base_url=BASE_URL)
    assert not result.posted and len(result.not_posted) == 2
    assert all("root_cause" in o.reason for o in result.not_posted)
    assert _count(world.engine, Communication) == 0


def test_the_preview_renders_the_first_two_the_reader_may_write_to_and_writes_nothing(world):
    outage_id = _open(world, incident_ids=world.incident_ids)
    with session_scope(world.engine) as s:
        shown = flows.preview(s, outage_id=outage_id, template_key=flows.BULK_TEMPLATE, edits=SHARED, actor=world.b,
                              now=NOW)
    assert [u.incident_id for u in shown] == world.incident_ids[2:]
    assert "America/New_York" in shown[0].text and "Australia/Sydney" in shown[1].text
    assert SHARED["current_status"] in shown[0].text
    assert _count(world.engine, Communication) == 0
