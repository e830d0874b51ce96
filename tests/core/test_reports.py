"""Critical incident reports and post-mortems: the review lifecycle, generation, conflicts, permissions, queries."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.incident import assignments
from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.report import flows as reports
from core.report.lifecycle import (
    ReportConflict,
    ReportError,
    ReportForbidden,
    ReportStatus,
    allowed_report_moves,
    check_report_move,
)
from core.report.sections import REPORT_SECTIONS, service_credit, span
from core.report.service import count_overdue_action_items, overdue_action_items, repeat_of
from core.sla.clocks import SlaClock
from core.triage.rules import Answers
from core.vocabulary import ClockState
from db.engine import session_scope
from db.models import Account, AuditEntry, IncidentReport
from tests.conftest import NOW, make_user

D, IR, RV, CL = "draft", "in_review", "reviewed", "closed"

ANSWERS = {"business_impact": "stopped", "complete_outage": True, "revenue_impact_per_hour": 8000,
           "users_affected_pct": 100, "system_affected": "core", "workaround": "none"}


def setup_people(engine):
    """A CSM owning Acme, another CSM, a lead; the presets; Acme with credit terms and Globex."""
    ids = {name: make_user(engine, name, role) for name, role in
           (("csm1", "csm"), ("csm2", "csm"), ("lead1", "lead"), ("admin1", "admin"))}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        s.add(Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                      owner_id=ids["csm1"], time_zone="Europe/Paris",
                      contract_terms={"service_credits": "10% of the monthly fee per hour of outage beyond SLA"}))
        s.add(Account(name="Globex", tier="basic", annual_contract_value=Decimal(3000), owner_id=ids["csm2"]))
    return ids


def resolved_incident(engine, account="Acme Corp", *, policy="red-status", detected=NOW - dt.timedelta(hours=8),
                      resolve_after=dt.timedelta(hours=7), answers=ANSWERS, title="Checkout down", note=None):
    """Open an incident through the flows, walk it to resolved; returns its id."""
    with session_scope(engine) as s:
        account_id = s.scalar(select(Account.id).where(Account.name == account))
        opened = incidents.open_incident(s, account_id=account_id, title=title, summary="Customers cannot pay.",
                                         answers=Answers.model_validate(answers), policy_name=policy, actor=SYSTEM,
                                         now=detected, detected_at=detected)
        steps = [(Milestone.ACKNOWLEDGED, dt.timedelta(minutes=6)),
                 (Milestone.CLIENT_NOTIFIED, dt.timedelta(minutes=18)),
                 (Milestone.MOBILIZED, dt.timedelta(minutes=30))]
        for milestone, after in steps:
            incidents.record_milestone(s, incident_id=opened.id, milestone=milestone, actor=SYSTEM,
                                       now=detected + after, at=detected + after)
        if note:
            incidents.add_note(s, incident_id=opened.id, text=note, actor=SYSTEM, now=detected + dt.timedelta(hours=1))
        if resolve_after is not None:
            incidents.record_milestone(s, incident_id=opened.id, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                       now=detected + resolve_after, at=detected + resolve_after)
        return opened.id


def role_of(name):
    """The team role setup_people gave this person."""
    return Role.LEAD if name.startswith("lead") else Role.ADMIN if name.startswith("admin") else Role.CSM


def actor(ids, name, role=None):
    # The team role goes with the actor: every write checks it (incident, report and client-message flows).
    return Actor(ids[name], name, role or role_of(name))


# --------------------------------------------------------------------------
# The lifecycle as a table.

@pytest.mark.parametrize("current, target, role, editor, expected", [
    (D, IR, Role.CSM, True, IR),
    (D, IR, Role.LEAD, False, IR),
    (D, IR, Role.CSM, False, "Only the account's CSM, leads and admins"),
    (D, RV, Role.LEAD, True, "cannot become Reviewed. Possible next: In review"),
    (D, CL, Role.ADMIN, True, "cannot become Closed"),
    (IR, D, Role.CSM, True, D),
    (IR, RV, Role.CSM, True, "Only a lead or an admin may move a report to Reviewed"),
    (IR, RV, Role.LEAD, True, RV),
    (IR, RV, Role.ADMIN, False, RV),
    (IR, CL, Role.LEAD, True, "cannot become Closed. Possible next: Draft, Reviewed"),
    (RV, CL, Role.CSM, True, "Only a lead or an admin may move a report to Closed"),
    (RV, CL, Role.LEAD, True, CL),
    (RV, IR, Role.LEAD, True, IR),
    (RV, IR, Role.CSM, True, "Only a lead or an admin"),
    (RV, D, Role.ADMIN, True, "cannot become Draft"),
    (CL, IR, Role.ADMIN, True, "Possible next: none (it is final)"),
    (D, "published", Role.LEAD, True, "Unknown report status 'published'"),
])
def test_report_moves(current, target, role, editor, expected):
    if expected in (D, IR, RV, CL):
        assert check_report_move(current, target, role, editor) is ReportStatus(expected)
    else:
        with pytest.raises(ReportError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            check_report_move(current, target, role, editor)


@pytest.mark.parametrize("current, role, editor, expected", [
    (D, Role.CSM, True, [IR]),
    (D, Role.CSM, False, []),
    (IR, Role.CSM, True, [D]),
    (IR, Role.LEAD, False, [D, RV]),
    (RV, Role.CSM, True, []),
    (RV, Role.ADMIN, False, [IR, CL]),
    (CL, Role.LEAD, True, []),
])
def test_allowed_moves_per_role(current, role, editor, expected):
    assert [s.value for s in allowed_report_moves(current, role, editor)] == expected


# --------------------------------------------------------------------------
# Service credits as a table.

def _clock(clock, state, late_minutes):
    start = NOW - dt.timedelta(hours=10)
    deadline = start + dt.timedelta(hours=2)
    return SlaClock(clock, clock, dt.timedelta(hours=2), start, deadline, deadline + dt.timedelta(minutes=late_minutes),
                    state)


@pytest.mark.parametrize("terms, acv, clocks, amount", [
    ("10% of the monthly fee per hour of outage beyond SLA", 120000,
     [_clock("resolution", ClockState.BREACHED, 301)], Decimal("6000.00")),  # 6 started hours x $1,000
    ("10% of the monthly fee per hour of outage beyond SLA", 120000,
     [_clock("resolution", ClockState.BREACHED, 60)], Decimal("1000.00")),
    ("10% of the monthly fee per hour of outage beyond SLA", 120000,
     [_clock("resolution", ClockState.MET, -30)], Decimal("0")),
    ("5% of the monthly fee per breached incident", 24000,
     [_clock("acknowledge", ClockState.BREACHED, 5)], Decimal("100.00")),
    ("5% of the monthly fee per breached incident", 24000, [_clock("acknowledge", ClockState.MET, -5)], Decimal("0")),
    ("none", 5000, [_clock("resolution", ClockState.BREACHED, 60)], Decimal("0")),
    ("", 5000, [], Decimal("0")),
    ("Credits as agreed with the client's CFO", 5000, [_clock("resolution", ClockState.BREACHED, 60)], None),
])
def test_service_credit(terms, acv, clocks, amount):
    assert service_credit(terms, Decimal(acv), clocks).amount == amount


# --------------------------------------------------------------------------
# Generation from the record.

def test_report_is_generated_from_the_record(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine, note="Connection pool exhausted after the 07:40 deploy")
    with session_scope(engine) as s:
        report = reports.get_or_draft_report(s, iid, "report", actor=actor(ids, "csm1"), now=NOW)
        sections = dict(report.sections)
    assert list(sections) == [s.key for s in REPORT_SECTIONS]
    assert "First detection: 2026-03-02 01:00 UTC" in sections["timeline"]
    assert "Client notification: 2026-03-02 01:18 UTC" in sections["timeline"]
    assert "Total duration: 7h 00m" in sections["timeline"]
    assert "Business operations: stopped" in sections["impact"]
    assert "$8,000 per hour × 7.0 h = $56,000" in sections["impact"]
    assert "Users affected: 100%" in sections["impact"]
    assert "Connection pool exhausted after the 07:40 deploy" in sections["root_cause"]
    assert "Resolved 2026-03-02 08:00 UTC, 7h 00m after detection" in sections["resolution"]
    # Red-status resolves an outage within 2h: 5h late, 5 started hours x 10% of $10,000.
    assert "Service credits: $5,000" in sections["client_mitigation"]
    assert "Follow-up plan:" in sections["client_mitigation"]
    assert "2026-03-09 08:00 UTC" in sections["client_mitigation"]
    assert "post-mortem action items" in sections["prevention"]


@pytest.mark.parametrize("zone, detected, resolved, follow_up", [
    ("UTC", "2026-03-02 01:00 UTC", "2026-03-02 08:00 UTC", "2026-03-09 08:00 UTC"),
    ("Europe/Paris", "2026-03-02 02:00 CET", "2026-03-02 09:00 CET", "2026-03-09 09:00 CET"),
    # New York moves to summer time on 8 March: the follow-up a week later is an hour later on the clock.
    ("America/New_York", "2026-03-01 20:00 EST", "2026-03-02 03:00 EST", "2026-03-09 04:00 EDT"),
    ("Asia/Kolkata", "2026-03-02 06:30 IST", "2026-03-02 13:30 IST", "2026-03-09 13:30 IST"),
])
def test_the_draft_is_written_in_the_readers_zone_and_says_which(engine, zone, detected, resolved, follow_up):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        sections = dict(reports.get_or_draft_report(s, iid, "report", actor=actor(ids, "csm1"), now=NOW,
                                                    time_zone=zone).sections)
        pm = dict(reports.get_or_draft_report(s, iid, "postmortem", actor=actor(ids, "lead1"), now=NOW,
                                              time_zone=zone).sections)
    assert sections["timeline"].startswith(f"Times are in {zone}.\n\n- First detection: {detected}")
    assert f"Resolved {resolved}, 7h 00m after detection" in sections["resolution"]
    assert follow_up in sections["client_mitigation"]
    assert pm["summary"].startswith(f"Times are in {zone}.\n\n") and f"Detected {detected}" in pm["summary"]


def test_the_first_save_stores_the_draft_in_the_savers_zone_as_unedited(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        draft = dict(reports.get_or_draft_report(s, iid, "report", actor=actor(ids, "csm1"), now=NOW,
                                                 time_zone="Europe/Paris").sections)
        reports.save_sections(s, incident_id=iid, kind="report", sections=draft, actor=actor(ids, "csm1"), now=NOW,
                              expected_version=reports.UNSAVED_VERSION, time_zone="Europe/Paris")
    with session_scope(engine) as s:
        stored = s.scalar(select(IncidentReport).where(IncidentReport.incident_id == iid))
        assert stored.sections == draft
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity_type == "incident_report"))
        assert set(entry.changes) == {"status"}, "the draft as shown, saved unchanged, counts as no edit"
        # Someone reading in another zone sees the text as written, with its zone named.
        view = reports.report_view(s, iid, "report", actor=actor(ids, "lead1"), now=NOW, time_zone="UTC")
    assert view.sections["timeline"].startswith("Times are in Europe/Paris.")


def test_postmortem_sections_say_what_went_well_and_what_to_improve(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        sections = dict(reports.get_or_draft_report(s, iid, "postmortem", actor=actor(ids, "lead1"),
                                                    now=NOW).sections)
    assert list(sections) == ["summary", "went_well", "improve"]
    assert "Checkout down at Acme Corp (enterprise)" in sections["summary"]
    assert "Acknowledge: took 6m, target 15m (9m inside the target)" in sections["went_well"]
    assert "Resolve: took 7h 00m, target 2h 00m (5h 00m late)" in sections["improve"]


def test_no_report_before_resolution(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine, resolve_after=None)
    with session_scope(engine) as s, pytest.raises(ReportError, match="not resolved yet"):
        reports.get_or_draft_report(s, iid, "report", actor=actor(ids, "csm1"), now=NOW)
    with session_scope(engine) as s, pytest.raises(ReportError, match="There is no incident #999999"):
        reports.report_view(s, 999999, "report", actor=actor(ids, "lead1"), now=NOW)


# --------------------------------------------------------------------------
# Reading writes nothing; the first save stores the draft.

def _table_rows(engine):
    from db.models import Base

    with session_scope(engine) as s:
        return {t.name: s.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in Base.metadata.sorted_tables}


READERS = [("csm1", Role.CSM, True), ("csm2", Role.CSM, False), ("lead1", Role.LEAD, True),
           ("admin1", Role.ADMIN, True)]


@pytest.mark.parametrize("kind", ["report", "postmortem"])
def test_reading_a_document_nobody_saved_writes_nothing(engine, kind):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    before = _table_rows(engine)
    seen = {}
    for who, role, _ in READERS:
        with session_scope(engine) as s:
            draft = reports.get_or_draft_report(s, iid, kind, actor=actor(ids, who, role), now=NOW)
            assert draft is None or draft not in s, "the draft is never added to the session"
            view = reports.report_view(s, iid, kind, actor=actor(ids, who, role), now=NOW)
            assert not s.new and not s.dirty
        seen[who] = (draft is not None, view.saved, view.editor, bool(view.sections), view.version)
    assert _table_rows(engine) == before, "no row was written, changed or removed"
    assert seen == {who: (editor, False, editor, editor, reports.UNSAVED_VERSION) for who, _, editor in READERS}, (
        "editors get the first draft in memory; csm2, who does not own the account, gets 'not written yet'")


def test_first_save_stores_the_draft_with_the_edits(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        draft = reports.get_or_draft_report(s, iid, "report", actor=actor(ids, "csm1"), now=NOW)
    later = NOW + dt.timedelta(hours=1)
    with session_scope(engine) as s:
        saved = reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "Expired cert"},
                                      actor=actor(ids, "csm1"), now=later,
                                      expected_version=draft.version)
        assert saved.version == 1
    with session_scope(engine) as s:
        row = s.scalar(select(IncidentReport))
        assert (row.status, row.created_at, row.created_by_id, row.version) == (D, later, ids["csm1"], 1)
        assert row.sections == {**draft.sections, "root_cause": "Expired cert"}
        view = reports.report_view(s, iid, "report", actor=actor(ids, "csm2"), now=later)
        assert (view.saved, view.editor, view.sections["root_cause"]) == (True, False, "Expired cert"), (
            "once saved, everyone reads it")
        assert [(h.by, h.before, h.after) for h in view.history] == [("csm1", None, D)]


def test_first_save_without_edits_stores_the_draft_as_written(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        reports.save_sections(s, incident_id=iid, kind="postmortem", sections={},
                              actor=actor(ids, "lead1"), now=NOW, expected_version=reports.UNSAVED_VERSION)
    with session_scope(engine) as s:
        assert list(s.scalar(select(IncidentReport)).sections) == ["summary", "went_well", "improve"]


@pytest.mark.parametrize("change", ["save", "move"])
def test_someone_who_may_not_edit_is_refused_by_core(engine, change):
    ids = setup_people(engine)
    iid = resolved_incident(engine)  # Acme: csm1's account, not csm2's
    with session_scope(engine) as s, pytest.raises(PermissionError) as refused:
        if change == "save":
            reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "csm2 was here"},
                                  actor=actor(ids, "csm2"), now=NOW,
                                  expected_version=reports.UNSAVED_VERSION)
        else:
            reports.move_report(s, incident_id=iid, kind="report", target=IR, actor=actor(ids, "csm2"),
                                now=NOW)
    assert isinstance(refused.value, ReportError)
    assert str(refused.value).startswith("Only the account's CSM, leads and admins may ")
    with session_scope(engine) as s:
        assert s.scalars(select(IncidentReport)).all() == []


def test_moving_a_document_nobody_saved_is_refused(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s, pytest.raises(ReportError, match="not written yet: check the draft and save it"):
        reports.move_report(s, incident_id=iid, kind="report", target=IR, actor=actor(ids, "csm1"),
                            now=NOW)
    with session_scope(engine) as s:
        assert s.scalars(select(IncidentReport)).all() == []


def test_two_first_saves_one_after_the_other_one_wins_the_other_conflicts(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    first = dict(incident_id=iid, kind="report", now=NOW, expected_version=reports.UNSAVED_VERSION)
    with session_scope(engine) as s:
        reports.save_sections(s, sections={"root_cause": "Pool (lead)"}, actor=actor(ids, "lead1"),
                              **first)
    with pytest.raises(ReportConflict) as conflict, session_scope(engine) as s:
        reports.save_sections(s, sections={"root_cause": "Cert (csm)"}, actor=actor(ids, "csm1"),
                              **first)
    assert "Lead1 saved this critical incident report" in str(conflict.value)
    assert "before anyone had saved it" in str(conflict.value)
    assert (conflict.value.their_sections["root_cause"], conflict.value.their_version) == ("Pool (lead)", 1)
    with session_scope(engine) as s:
        assert [r.sections["root_cause"] for r in s.scalars(select(IncidentReport))] == ["Pool (lead)"]


def test_two_first_saves_at_the_same_moment_leave_one_row_and_one_conflict(engine):
    import threading

    ids = setup_people(engine)
    iid = resolved_incident(engine)
    first = dict(incident_id=iid, kind="report", now=NOW, expected_version=reports.UNSAVED_VERSION)
    flushed, release = threading.Event(), threading.Event()
    outcome = {}

    def lead_saves():
        with session_scope(engine) as s:
            reports.save_sections(s, sections={"root_cause": "Pool (lead)"},
                                  actor=actor(ids, "lead1"), **first)
            flushed.set()
            release.wait(10)  # the row is inserted, not committed, while the CSM saves

    def csm_saves():
        try:
            with session_scope(engine) as s:
                reports.save_sections(s, sections={"root_cause": "Cert (csm)"},
                                      actor=actor(ids, "csm1"), **first)
            outcome["csm"] = "saved"
        except ReportConflict as conflict:
            outcome["csm"] = conflict.their_sections["root_cause"]

    lead = threading.Thread(target=lead_saves)
    lead.start()
    assert flushed.wait(10)
    csm = threading.Thread(target=csm_saves)
    csm.start()
    csm.join(0.5)
    assert csm.is_alive(), "the second first-save waits for the first one's transaction"
    release.set()
    lead.join(10)
    csm.join(20)
    assert outcome == {"csm": "Pool (lead)"}, "the CSM gets the conflict with the lead's text"
    with session_scope(engine) as s:
        assert [r.sections["root_cause"] for r in s.scalars(select(IncidentReport))] == ["Pool (lead)"]


# --------------------------------------------------------------------------
# Editing: conflicts and permissions.

def _open_report(engine, ids, iid, kind="report", who="lead1", role=Role.LEAD):
    """Save the first draft (as written from the record); returns the stored version."""
    with session_scope(engine) as s:
        return reports.save_sections(s, incident_id=iid, kind=kind, sections={}, actor=actor(ids, who, role),
                                     now=NOW, expected_version=reports.UNSAVED_VERSION).version


def test_stale_save_is_refused_with_the_saved_text(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    seen = _open_report(engine, ids, iid)
    with session_scope(engine) as s:
        reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "Pool exhausted (lead)"},
                              actor=actor(ids, "lead1"), now=NOW, expected_version=seen)
    with pytest.raises(ReportConflict) as conflict, session_scope(engine) as s:
        reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "Expired cert (csm)"},
                              actor=actor(ids, "csm1"), now=NOW, expected_version=seen)
    assert "Lead1 saved this critical incident report" in str(conflict.value)
    assert conflict.value.their_sections["root_cause"] == "Pool exhausted (lead)"
    with session_scope(engine) as s:
        report = s.scalar(select(IncidentReport))
        assert report.sections["root_cause"] == "Pool exhausted (lead)"
        # Saving again from the version they have now seen goes through.
        reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "Both, merged"},
                              actor=actor(ids, "csm1"), now=NOW,
                              expected_version=conflict.value.their_version)
    with session_scope(engine) as s:
        assert s.scalar(select(IncidentReport)).sections["root_cause"] == "Both, merged"


@pytest.mark.parametrize("who, role, account, allowed", [
    ("csm1", Role.CSM, "Acme Corp", True),
    ("csm2", Role.CSM, "Acme Corp", False),
    ("lead1", Role.LEAD, "Acme Corp", True),
    ("admin1", Role.ADMIN, "Globex", True),
    ("csm2", Role.CSM, "Globex", True),
])
def test_who_may_edit(engine, who, role, account, allowed):
    ids = setup_people(engine)
    iid = resolved_incident(engine, account)
    seen = _open_report(engine, ids, iid)
    change = dict(incident_id=iid, kind="report", sections={"prevention": "- Canary deploys"},
                  actor=actor(ids, who, role), now=NOW, expected_version=seen)
    if allowed:
        with session_scope(engine) as s:
            reports.save_sections(s, **change)
    else:
        with session_scope(engine) as s, pytest.raises(ReportError, match="may edit this report"):
            reports.save_sections(s, **change)


def test_the_role_comes_from_the_actor_and_none_is_no_team_role(engine):
    """An actor without a team role edits and moves only the reports of accounts it owns (as incident writes)."""
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    seen = _open_report(engine, ids, iid)
    lead_without_role = Actor(ids["lead1"], "lead1")
    with session_scope(engine) as s, pytest.raises(ReportForbidden, match="may edit this report"):
        reports.save_sections(s, incident_id=iid, kind="report", sections={"prevention": "- Canary deploys"},
                              actor=lead_without_role, now=NOW, expected_version=seen)
    with session_scope(engine) as s:
        assert not reports.report_view(s, iid, "report", actor=lead_without_role, now=NOW).editor
        owner = Actor(ids["csm1"], "csm1")
        reports.save_sections(s, incident_id=iid, kind="report", sections={"prevention": "- Canary deploys"},
                              actor=owner, now=NOW, expected_version=seen)
        reports.move_report(s, incident_id=iid, kind="report", target=IR, actor=owner, now=NOW)
    with session_scope(engine) as s, pytest.raises(ReportForbidden, match="Only a lead or an admin"):
        reports.move_report(s, incident_id=iid, kind="report", target=RV, actor=owner, now=NOW)

def test_review_path_is_recorded_and_locks_the_text(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    _open_report(engine, ids, iid, who="csm1", role=Role.CSM)
    moves = [("csm1", Role.CSM, IR, NOW), ("lead1", Role.LEAD, RV, NOW + dt.timedelta(hours=1))]
    for who, role, target, at in moves:
        with session_scope(engine) as s:
            reports.move_report(s, incident_id=iid, kind="report", target=target, actor=actor(ids, who, role),
                                now=at)
    with session_scope(engine) as s:
        view = reports.report_view(s, iid, "report", actor=actor(ids, "lead1"), now=NOW)
        assert [(h.by, h.before, h.after) for h in view.history] == [
            ("csm1", None, D), ("csm1", D, IR), ("lead1", IR, RV)]
        assert view.status_changed_by == "Lead1" and view.status_changed_at == NOW + dt.timedelta(hours=1)
        with pytest.raises(ReportError, match="move it back to review"):
            reports.save_sections(s, incident_id=iid, kind="report", sections={"prevention": "late edit"},
                                  actor=actor(ids, "lead1"), now=NOW, expected_version=view.version)


@pytest.mark.parametrize("sections, message", [
    ({"prevention": "   "}, "Write something in: Prevention measures"),
    ({"verdict": "x"}, "Unknown section"),
])
def test_bad_edits_say_what_to_fix(engine, sections, message):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    seen = _open_report(engine, ids, iid)
    with session_scope(engine) as s, pytest.raises(ReportError, match=message):
        reports.save_sections(s, incident_id=iid, kind="report", sections=sections,
                              actor=actor(ids, "csm1"), now=NOW, expected_version=seen)


# --------------------------------------------------------------------------
# Post-mortem action items and the dashboard queries.

def test_overdue_postmortem_actions_by_owner_and_account(engine):
    ids = setup_people(engine)
    acme = resolved_incident(engine, "Acme Corp")
    globex = resolved_incident(engine, "Globex")
    items = {}
    with session_scope(engine) as s:
        lead = actor(ids, "lead1")
        for name, iid, owner, days in (("late", acme, "csm1", 2), ("later", acme, "lead1", 3),
                                       ("future", acme, "csm1", 30), ("other", globex, "csm2", 1),
                                       ("done", acme, "csm1", 1)):
            items[name] = reports.add_postmortem_action(s, incident_id=iid, title=name, owner_id=ids[owner],
                                                        due_at=NOW + dt.timedelta(days=days),
                                                        actor=lead, now=NOW)
        assignments.add_action_item(s, incident_id=acme, title="incident chore", owner_id=ids["csm1"],
                                    due_at=NOW + dt.timedelta(days=1), actor=lead, now=NOW)
        reports.set_postmortem_action_done(s, item_id=items["done"], done=True,
                                           actor=actor(ids, "csm1"), now=NOW)
    later = NOW + dt.timedelta(days=5)
    with session_scope(engine) as s:
        acme_account = s.scalar(select(Account.id).where(Account.name == "Acme Corp"))
        assert [i.title for i in overdue_action_items(s, now=later)] == ["other", "late", "later"]
        assert [i.title for i in overdue_action_items(s, owner_id=ids["csm1"], now=later)] == ["late"]
        assert [i.title for i in overdue_action_items(s, account_ids=[acme_account], now=later)] == [
            "late", "later"]
        assert count_overdue_action_items(s, now=later) == 3
        assert count_overdue_action_items(s, owner_id=ids["csm2"], now=later) == 1
        assert count_overdue_action_items(s, now=later, source=None) == 4
        row = overdue_action_items(s, owner_id=ids["csm1"], now=later)[0]
        assert (row.incident_id, row.account_name, row.owner) == (acme, "Acme Corp", "Csm1")


@pytest.mark.parametrize("owner, due, message", [
    (None, NOW + dt.timedelta(days=3), "Choose who owns"),
    ("csm1", None, "due date"),
])
def test_postmortem_action_needs_owner_and_due_date(engine, owner, due, message):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s, pytest.raises(ReportError, match=message):
        reports.add_postmortem_action(s, incident_id=iid, title="Canary deploys", owner_id=ids.get(owner),
                                      due_at=due, actor=actor(ids, "csm1"), now=NOW)


def test_action_owner_may_tick_off_but_not_a_stranger(engine):
    ids = setup_people(engine)
    iid = resolved_incident(engine)
    with session_scope(engine) as s:
        item = reports.add_postmortem_action(s, incident_id=iid, title="Alert on pool", owner_id=ids["csm2"],
                                             due_at=NOW + dt.timedelta(days=3),
                                             actor=actor(ids, "lead1"), now=NOW)
    with session_scope(engine) as s:
        reports.set_postmortem_action_done(s, item_id=item, done=True, actor=actor(ids, "csm2"),
                                           now=NOW)
    other = resolved_incident(engine)
    with session_scope(engine) as s:
        item2 = reports.add_postmortem_action(s, incident_id=other, title="Runbook", owner_id=ids["csm1"],
                                              due_at=NOW + dt.timedelta(days=3),
                                              actor=actor(ids, "lead1"), now=NOW)
    with session_scope(engine) as s, pytest.raises(ReportError, match="owner"):
        reports.set_postmortem_action_done(s, item_id=item2, done=True, actor=actor(ids, "csm2"),
                                           now=NOW)


def test_repeat_of_lists_earlier_postmortems_on_the_account_within_six_months(engine):
    ids = setup_people(engine)
    old = resolved_incident(engine, detected=NOW - dt.timedelta(days=200), title="Old outage")
    recent = resolved_incident(engine, detected=NOW - dt.timedelta(days=40), title="Recent outage")
    no_pm = resolved_incident(engine, detected=NOW - dt.timedelta(days=20), title="No post-mortem")
    elsewhere = resolved_incident(engine, "Globex", detected=NOW - dt.timedelta(days=10), title="Globex outage")
    for iid in (old, recent, elsewhere):
        with session_scope(engine) as s:
            reports.save_sections(s, incident_id=iid, kind="postmortem", sections={},
                                  actor=actor(ids, "lead1"), now=NOW - dt.timedelta(days=5),
                                  expected_version=reports.UNSAVED_VERSION)
    new = resolved_incident(engine, title="Outage again")
    with session_scope(engine) as s:
        assert [(e.incident_id, e.title, e.status) for e in repeat_of(s, new)] == [
            (recent, "Recent outage", "draft")]
        assert repeat_of(s, old) == [] and repeat_of(s, 999999) == []
        assert no_pm not in [e.incident_id for e in repeat_of(s, new)]
        report = reports.get_or_draft_report(s, new, "report", actor=actor(ids, "csm1"), now=NOW)
        assert f"#{recent} Recent outage" in report.sections["prevention"]


# --------------------------------------------------------------------------
# The demo: a report for an incident of every preset.

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from core.demo import dataset as demo
    from db.engine import make_engine
    from db.migrate import upgrade

    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo-reports') / 'demo.db'}")
    upgrade(eng)
    with session_scope(eng) as s:
        policy_store.install_presets(s, now=DEMO_NOW)
    with session_scope(eng) as s:
        demo.load(s, now=DEMO_NOW)
    yield eng
    eng.dispose()


DEMO_NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


@pytest.mark.slow  # the demo dataset is built first
@pytest.mark.parametrize("preset", ["red-status", "spark", "crisis", "growth-engine", "teamflow", "default"])
def test_demo_report_of_every_preset_fills_every_section_the_record_supports(demo_db, preset):
    from db.models import Incident

    with session_scope(demo_db) as s:
        iid = s.scalar(select(Incident.id).join(IncidentReport, IncidentReport.incident_id == Incident.id)
                       .where(Incident.policy_name == preset, IncidentReport.kind == "report").limit(1))
        assert iid is not None, f"the demo has a report for a {preset} incident"
        view = reports.report_view(s, iid, "report", actor=SYSTEM, now=DEMO_NOW)
        assert view.saved
    record = view.record
    assert all(view.sections[sec.key].strip() for sec in REPORT_SECTIONS)
    assert f"First detection: {record.milestones['detected']:%Y-%m-%d %H:%M} UTC" in view.sections["timeline"]
    assert f"Total duration: {span(record.duration)}" in view.sections["timeline"]
    assert f"Severity: {record.severity}" in view.sections["impact"]
    if record.answers.get("revenue_impact_per_hour"):
        assert "Revenue impact (estimate)" in view.sections["impact"]
    if record.answers.get("users_affected_pct") is not None:
        assert f"Users affected: {record.answers['users_affected_pct']:g}%" in view.sections["impact"]
    assert "Primary cause:" in view.sections["root_cause"], "the demo edit is kept"
    assert "Service credits:" in view.sections["client_mitigation"]
    if record.reviews:
        assert "Follow-up plan:" in view.sections["client_mitigation"]


@pytest.mark.slow  # the demo dataset is built first
def test_demo_has_reports_in_every_state_and_overdue_work(demo_db):
    from core.incident import reviews

    with session_scope(demo_db) as s:
        states = set(s.execute(select(IncidentReport.kind, IncidentReport.status)).all())
        assert states == {(k, st) for k in ("report", "postmortem") for st in (D, IR, RV, CL)}
        assert count_overdue_action_items(s, now=DEMO_NOW) > 0
        assert reviews.count_overdue_reviews(s, now=DEMO_NOW) > 0
        done = [t for iid in s.scalars(select(IncidentReport.incident_id).distinct())
                for t in reviews.review_tasks(s, iid) if t.done_at]
        assert done, "some reviews are done"
        earlier = [iid for iid in s.scalars(select(IncidentReport.incident_id).distinct()) if repeat_of(s, iid)]
        assert earlier, "some demo incident links to an earlier post-mortem on its account"
