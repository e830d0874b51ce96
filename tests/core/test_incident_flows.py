"""Incident flows on SQLite and PostgreSQL: milestones, status moves, conflicts, two processes."""

import datetime as dt
import multiprocessing
from decimal import Decimal

import pytest

from core.incident import assignments
from core.incident import flows as incidents
from core.incident.lifecycle import IllegalMove, Milestone
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import make_engine, session_scope
from db.models import Account, Incident, TimelineEvent
from tests.conftest import clean_main_module

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def _open(engine, answers=None, policy="growth-engine", **options) -> int:
    """Open a growth-engine P1 (by default) detected 10 minutes before NOW; `options` go to open_incident."""
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name=f"Acme {policy}", tier="enterprise", annual_contract_value=Decimal(90000))
        s.add(account)
        s.flush()
        return incidents.open_incident(
            s, account_id=account.id, title="Payments down", summary="", policy_name=policy,
            answers=Answers.model_validate(answers or {"business_impact": "major"}), actor=SYSTEM,
            now=NOW, detected_at=NOW - 10 * MIN, **options).id


def test_main_path_stamps_milestones_and_meets_the_clocks(engine):
    iid = _open(engine)
    for minutes, milestone in enumerate([Milestone.ACKNOWLEDGED, Milestone.CLIENT_NOTIFIED, Milestone.MOBILIZED,
                                         Milestone.RESOLVED, Milestone.CLOSED], start=1):
        with session_scope(engine) as s:
            incidents.record_milestone(s, incident_id=iid, milestone=milestone, actor=SYSTEM, now=NOW + minutes * MIN)
    with session_scope(engine) as s:
        incident = s.get(Incident, iid)
        clocks = incidents.clocks_of(s, incident, NOW + 10 * MIN)
        kinds = [e.kind for e in s.query(TimelineEvent).filter_by(incident_id=iid).order_by(TimelineEvent.id)]
    assert incident.status == "closed" and incident.next_deadline_at is None
    assert {c.clock: c.state.value for c in clocks} == {
        "acknowledge": "met", "resolution": "met", "resolution_max": "met", "escalation": "met"}
    # Resolving schedules the policy's review in the same unit of work.
    assert kinds == ["opened"] + ["milestone"] * 4 + ["review", "milestone"]


def test_past_milestone_needs_a_reason_and_cannot_precede_detection(engine):
    iid = _open(engine)
    with pytest.raises(incidents.IncidentError, match="Say why"), session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM,
                                   now=NOW, at=NOW - 5 * MIN)
    with pytest.raises(incidents.IncidentError, match="cannot be before detection"), session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM,
                                   now=NOW, at=NOW - 60 * MIN, reason="typo")


def test_illegal_status_move_is_refused(engine):
    iid = _open(engine)
    with pytest.raises(IllegalMove, match="Allowed next"), session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="closed", actor=SYSTEM, now=NOW)


def test_reopen_runs_the_clocks_again_and_keeps_history(engine):
    iid = _open(engine)
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="resolved", actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="reopened", actor=SYSTEM, now=NOW + MIN,
                              reason="client still sees errors")
    with session_scope(engine) as s:
        incident = s.get(Incident, iid)
        assert (incident.status, incident.resolved_at, incident.reopened_at) == ("reopened", None, NOW + MIN)
        assert incident.next_deadline_at is not None
        summaries = [e.summary for e in s.query(TimelineEvent).filter_by(incident_id=iid)]
    assert "Status resolved → reopened: client still sees errors" in summaries


def test_stale_version_is_a_conflict_naming_the_change(engine):
    iid = _open(engine)
    with session_scope(engine) as s:
        seen = s.get(Incident, iid).version
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM, now=NOW,
                                   expected_version=seen)
    with pytest.raises(incidents.ConflictError) as conflict, session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="mobilized", actor=SYSTEM, now=NOW,
                              expected_version=seen)
    assert "changed by someone else" in str(conflict.value)
    assert any("milestone:acknowledged" in line for line in conflict.value.changes)
    with session_scope(engine) as s:
        assert s.get(Incident, iid).status == "acknowledged"


def _race(url: str, iid: int, version: int, target: str, queue) -> None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            incidents.move_status(s, incident_id=iid, target=target, actor=SYSTEM, now=NOW, expected_version=version)
        queue.put(("saved", target))
    except incidents.ConflictError:
        queue.put(("conflict", target))
    finally:
        engine.dispose()


@pytest.mark.slow  # starts two app processes
def test_two_app_processes_saving_the_same_version(engine):
    iid = _open(engine)
    with session_scope(engine) as s:
        version = s.get(Incident, iid).version
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    url = engine.url.render_as_string(hide_password=False)
    procs = [ctx.Process(target=_race, args=(url, iid, version, t, queue)) for t in ("acknowledged", "mobilized")]
    with clean_main_module():
        for p in procs:
            p.start()
    for p in procs:
        p.join(timeout=120)
    outcomes = sorted(queue.get(timeout=5)[0] for _ in procs)
    assert outcomes == ["conflict", "saved"]
    with session_scope(engine) as s:
        assert s.get(Incident, iid).version == version + 1


def test_escalation_due_is_kept_on_the_row_for_lists(engine):
    iid = _open(engine)  # growth-engine P1, detected 10 minutes before NOW: L3 due within 1 h
    detected = NOW - 10 * MIN
    with session_scope(engine) as s:
        assert s.get(Incident, iid).escalation_due_at == detected + dt.timedelta(hours=1)
    with session_scope(engine) as s:
        incidents.escalate(s, incident_id=iid, to_level="L3", reason="needs experts", actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        # L3 reached; the next one (L4) falls due when the 4 h resolution target is breached.
        assert s.get(Incident, iid).escalation_due_at == detected + dt.timedelta(hours=4)
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="resolved", actor=SYSTEM, now=NOW + MIN)
    with session_scope(engine) as s:
        assert s.get(Incident, iid).escalation_due_at is None


@pytest.mark.parametrize("minutes_after_detection, problem", [
    (-1, "cannot be before detection"),
    (11, "in the future"),
])
def test_escalation_at_a_past_time_must_lie_between_detection_and_now(engine, minutes_after_detection, problem):
    iid = _open(engine)  # detected 10 minutes before NOW
    with pytest.raises(incidents.IncidentError, match=problem), session_scope(engine) as s:
        incidents.escalate(s, incident_id=iid, to_level="L3", reason="needs experts", actor=SYSTEM, now=NOW,
                           at=NOW - 10 * MIN + minutes_after_detection * MIN)


def test_escalation_recorded_late_counts_from_when_it_happened(engine):
    iid = _open(engine)  # growth-engine P1: L3 due 1 h after detection
    detected = NOW - 10 * MIN
    with session_scope(engine) as s:
        incidents.escalate(s, incident_id=iid, to_level="L3", reason="called the VP at 09:55", actor=SYSTEM,
                           now=NOW + dt.timedelta(hours=2), at=detected + 45 * MIN)
    with session_scope(engine) as s:
        incident = s.get(Incident, iid)
        clocks = {c.clock: c for c in incidents.clocks_of(s, incident, NOW + dt.timedelta(hours=2))}
        event = s.query(TimelineEvent).filter_by(incident_id=iid, kind="escalation").one()
    assert incident.required_level_reached_at == detected + 45 * MIN
    assert clocks["escalation"].state.value == "met" and event.occurred_at == detected + 45 * MIN


def test_lowering_severity_keeps_what_the_answers_require(engine):
    # growth-engine: a breach is P0 (Severity Levels) and needs Level 3 ("Security concerns");
    # the least severe severity that needs Level 3 is P1, so P1 is allowed and keeps L3.
    iid = _open(engine, {"security_breach": True}, policy="growth-engine")
    with session_scope(engine) as s:
        before = s.get(Incident, iid)
        assert (before.severity, before.required_level, before.red_status) == ("P0", "L4", True)
    with session_scope(engine) as s:
        incidents.change_severity(s, incident_id=iid, severity="P1", reason="contained, one user left",
                                  actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        after = s.get(Incident, iid)
        assert (after.severity, after.required_level, after.red_status) == ("P1", "L3", False)
        assert after.triage_result["targets"]["acknowledge"] == 15 * 60  # P1's own targets, from detection


def test_a_severity_below_the_answers_floor_is_refused_with_the_reason(engine):
    iid = _open(engine, {"business_impact": "major", "security_breach": True}, policy="red-status")
    with session_scope(engine) as s, pytest.raises(incidents.IncidentError) as refused:
        incidents.change_severity(s, incident_id=iid, severity="P2", reason="contained, one user left",
                                  actor=SYSTEM, now=NOW)
    assert str(refused.value) == (
        "P2 is below this incident's floor of P0: Data was lost or security was breached. It needs L3 (Executive "
        "crisis response), and under red-status an incident that needs L3 is at least P0. Choose P0 or a more "
        "severe one.")
    with session_scope(engine) as s:
        assert s.get(Incident, iid).severity == "P0"


def _people(engine) -> dict[str, int]:
    from core.people import users

    with session_scope(engine) as s:
        return {name: users.create_user(s, username=name, display_name=name.title(), role=role,
                                        password="Correct-horse-battery-9", actor=SYSTEM, now=NOW)[0].id
                for name, role in (("alice", "csm"), ("bob", "lead"))}


def test_roles_come_from_the_incident_policy(engine):
    iid = _open(engine, policy="spark")  # spark: incident commander, assigned engineer, CSM
    people = _people(engine)
    with session_scope(engine) as s:
        assignments.assign_role(s, incident_id=iid, role="technical_lead", user_id=people["bob"], actor=SYSTEM,
                                now=NOW)
        assignments.assign_role(s, incident_id=iid, role="csm", user_id=people["alice"], actor=SYSTEM, now=NOW)
    with pytest.raises(incidents.IncidentError, match="Policy spark has no incident role 'executive_sponsor': use "
                                                      "one of incident_commander, technical_lead, csm"), \
            session_scope(engine) as s:
        assignments.assign_role(s, incident_id=iid, role="executive_sponsor", user_id=people["bob"], actor=SYSTEM,
                                now=NOW)
    with session_scope(engine) as s:
        incident = s.get(Incident, iid)
        summaries = [e.summary for e in s.query(TimelineEvent).filter_by(incident_id=iid, kind="role")]
        assert incident.owner_id == people["alice"]
    assert summaries == ["Assigned engineer: Bob", "Customer Success Manager: Alice"]


def _refused_writes(iid: int, item_id: int):
    now = NOW + MIN
    return [
        ("milestone", lambda s, a: incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED,
                                                              actor=a, now=now)),
        ("status", lambda s, a: incidents.move_status(s, incident_id=iid, target="acknowledged", actor=a, now=now)),
        ("severity", lambda s, a: incidents.change_severity(s, incident_id=iid, severity="P0", reason="worse",
                                                            actor=a, now=now)),
        ("note", lambda s, a: incidents.add_note(s, incident_id=iid, text="hello", actor=a, now=now)),
        ("pause", lambda s, a: incidents.pause_clocks(s, incident_id=iid, reason="waiting", actor=a, now=now)),
        ("escalate", lambda s, a: incidents.escalate(s, incident_id=iid, to_level="L2", reason="stuck", actor=a,
                                                     now=now)),
        ("role", lambda s, a: assignments.assign_role(s, incident_id=iid, role="csm", user_id=None, actor=a,
                                                      now=now)),
        ("action item", lambda s, a: assignments.add_action_item(s, incident_id=iid, title="do it", owner_id=None,
                                                                 due_at=None, actor=a, now=now)),
        ("action done", lambda s, a: assignments.set_action_done(s, item_id=item_id, done=True, actor=a, now=now)),
    ]


def test_incident_writes_refuse_who_may_not_work_on_the_incident(engine):
    from core.people.access import Role
    from core.people.users import Actor

    iid = _open(engine)  # an account nobody owns: leads, admins and the system only
    people = _people(engine)
    with session_scope(engine) as s:
        item_id = assignments.add_action_item(s, incident_id=iid, title="first", owner_id=None, due_at=None,
                                              actor=SYSTEM, now=NOW)
    refused = [Actor(people["alice"], "alice", Role.CSM), Actor(None, "anonymous"), Actor(None, "csm", Role.CSM)]
    for _what, write in _refused_writes(iid, item_id):
        for actor in refused:
            with pytest.raises(incidents.IncidentForbidden, match=f"{actor.name} may not"), \
                    session_scope(engine) as s:
                write(s, actor)
    # The account's CSM and a lead may; so may the explicit system actor (demo seeder, command line).
    with session_scope(engine) as s:
        s.get(Account, s.get(Incident, iid).account_id).owner_id = people["alice"]
    with session_scope(engine) as s:
        incidents.add_note(s, incident_id=iid, text="mine now", actor=Actor(people["alice"], "alice", Role.CSM),
                           now=NOW + MIN)
        incidents.add_note(s, incident_id=iid, text="lead", actor=Actor(people["bob"], "bob", Role.LEAD),
                           now=NOW + MIN)
