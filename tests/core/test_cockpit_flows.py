"""The cockpit's flows on SQLite and PostgreSQL: the war room link, the client's confirmation of the fix, phase
steps ticked off; and the pure decisions behind the page: which moves ask first, what settles the most urgent
thing owed, which level the ladder asks for now."""

import datetime as dt

import pytest

from core.incident import flows as incidents
from core.incident import steps as phase_steps
from core.incident.lifecycle import Milestone, move_confirmation, severity_confirmation
from core.incident.views import DueItem, load, next_escalation, settled_by
from core.people.users import SYSTEM
from core.vocabulary import ClockState
from db.engine import session_scope
from db.models import AuditEntry, Incident, TimelineEvent
from tests.core.test_incident_flows import _open

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.mark.parametrize("url, kept", [
    ("https://meet.example.com/abc-defg-hij", "https://meet.example.com/abc-defg-hij"),
    ("  http://chat.example.org/room/42  ", "http://chat.example.org/room/42"),
    ("HTTPS://Zoom.example.com/j/123?pwd=x", "HTTPS://Zoom.example.com/j/123?pwd=x"),
    ("", None),
    ("   ", None),
])
def test_a_war_room_link_is_a_web_address(url, kept):
    assert incidents.check_war_room_url(url) == kept


@pytest.mark.parametrize("url, problem", [
    ("javascript:alert(1)", "must be a web address starting with https://"),
    ("data:text/html,<script>x</script>", "must be a web address starting with https://"),
    ("meet.example.com/abc", "must be a web address starting with https://"),
    ("https://", "must be a web address starting with https://"),
    ("https://meet.example.com/a b", "must be a web address starting with https://"),
    ("https://meet.example.com/\u202eevil", "must be a web address starting with https://"),
    ("https://meet.example.com/" + "a" * 480, "is 505 characters long; at most 500"),
])
def test_anything_else_is_refused_saying_what_to_give(url, problem):
    with pytest.raises(incidents.IncidentError, match=problem.replace("?", r"\?")):
        incidents.check_war_room_url(url)


def test_the_war_room_given_at_opening_is_kept_and_can_be_changed_or_removed(engine):
    iid = _open(engine, war_room_url="https://meet.example.com/first")
    with session_scope(engine) as s:
        assert s.get(Incident, iid).war_room_url == "https://meet.example.com/first"
        version = s.get(Incident, iid).version
    with session_scope(engine) as s:
        incidents.set_war_room(s, incident_id=iid, url="https://meet.example.com/second", actor=SYSTEM, now=NOW,
                               expected_version=version)
    with pytest.raises(incidents.ConflictError), session_scope(engine) as s:
        incidents.set_war_room(s, incident_id=iid, url="", actor=SYSTEM, now=NOW, expected_version=version)
    with pytest.raises(incidents.IncidentError, match="already this one"), session_scope(engine) as s:
        incidents.set_war_room(s, incident_id=iid, url="https://meet.example.com/second", actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        incidents.set_war_room(s, incident_id=iid, url="", actor=SYSTEM, now=NOW + MIN)
    with session_scope(engine) as s:
        assert s.get(Incident, iid).war_room_url is None
        events = [e.summary for e in s.query(TimelineEvent).filter_by(incident_id=iid, kind="war_room")
                  .order_by(TimelineEvent.id)]
        actions = [a.action for a in s.query(AuditEntry).filter_by(entity_type="incident", entity_id=str(iid))]
    assert events == ["War room: https://meet.example.com/second", "War room link removed"]
    assert actions.count("war_room") == 2


def test_the_client_confirms_the_fix_only_after_resolution(engine):
    iid = _open(engine)
    with pytest.raises(incidents.IncidentError, match="only once the incident is resolved"), session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.CLIENT_CONFIRMED, actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.CLIENT_CONFIRMED, actor=SYSTEM,
                                   now=NOW + 30 * MIN)
    with session_scope(engine) as s:
        row = s.get(Incident, iid)
        assert (row.status, row.client_confirmed_at) == ("resolved", NOW + 30 * MIN)
        view = load(s, iid, now=NOW + 31 * MIN)
    assert view is not None and view.milestones["client_confirmed"] == NOW + 30 * MIN
    # Reopened: the fix did not hold, so the client's confirmation of it no longer stands.
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="reopened", actor=SYSTEM, now=NOW + 60 * MIN,
                              reason="errors are back")
    with session_scope(engine) as s:
        assert s.get(Incident, iid).client_confirmed_at is None


def test_a_step_not_in_the_policy_is_refused_naming_the_steps_there_are(engine):
    iid = _open(engine)
    with pytest.raises(incidents.IncidentError, match="has no step 'make-coffee'"), session_scope(engine) as s:
        phase_steps.complete_step(s, incident_id=iid, step_key="make-coffee", actor=SYSTEM, now=NOW)


@pytest.mark.parametrize("target, asks", [
    ("closed", "Close incident? Its record is final: reopening later needs a reason."),
    ("reopened", "Reopen incident? Its clocks start again from the policy's targets."),
    ("acknowledged", None), ("mobilized", None), ("mitigated", None), ("resolved", None),
])
def test_closing_and_reopening_ask_first(target, asks):
    assert move_confirmation(target) == asks


@pytest.mark.parametrize("current, new, floor, asks", [
    ("P1", "P2", None, True),     # lowering asks
    ("P0", "P3", None, True),
    ("P2", "P1", None, False),    # raising never asks
    ("P3", "P0", None, False),
    ("P0", "P1", "P1", True),     # down to the floor: allowed, so asked
    ("P0", "P2", "P1", False),    # below the floor: refused at once with why, nothing to confirm
])
def test_only_a_lowering_the_answers_allow_asks_first(current, new, floor, asks):
    question = severity_confirmation(current, new, floor=floor)
    assert (question is not None) == asks
    if asks:
        assert question.startswith(f"Lower the severity from {current} to {new}?")


@pytest.mark.parametrize("kind, clock, settles", [
    ("clock", "acknowledge", "acknowledged"),
    ("clock", "client_notification", "client_notified"),
    ("clock", "mobilization", "mobilized"),
    ("clock", "resolution", "resolved"),
    ("clock", "resolution_max", "resolved"),
    ("clock", "escalation", "escalate"),
    ("escalation", None, "escalate"),
    ("clock", "client_update", "write"),
    ("client_update", None, "write"),
    ("clock", "response_L2", None),  # the level responds: recorded on the Escalation tab
])
def test_the_action_that_settles_the_most_urgent_thing_owed(kind, clock, settles):
    assert settled_by(DueItem(kind, "x", NOW, ClockState.RUNNING, clock)) == settles


def test_the_ladder_asks_for_a_level_once_its_time_has_come_and_not_after_it_is_reached(engine):
    # growth-engine P1: Level 3 required from detection, due within the hour.
    iid = _open(engine)
    with session_scope(engine) as s:
        view = load(s, iid, now=NOW)
    assert view is not None
    level, reasons = next_escalation(view, NOW) or ("", "")
    assert level == "L3" and reasons
    with session_scope(engine) as s:
        incidents.escalate(s, incident_id=iid, to_level="L3", reason=reasons, actor=SYSTEM, now=NOW + MIN)
    with session_scope(engine) as s:
        view = load(s, iid, now=NOW + 2 * MIN)
    assert view is not None and next_escalation(view, NOW + 2 * MIN) is None
