"""Report and post-mortem pages through AppTest: per role, editing, conflicts, status moves, reviews, actions."""

import datetime as dt

import pytest
from sqlalchemy import select

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.report import flows as reports
from core.report.lifecycle import ReportKind
from core.report.sections import SECTIONS
from db.engine import session_scope
from db.models import ActionItem, IncidentReport, ReviewTask, User
from tests.pages.conftest import app_test, links_to, open_test_incident, texts

ANSWERS = {"business_impact": "stopped", "complete_outage": True, "revenue_impact_per_hour": 5000}


def resolved_incident(app_db, account="Acme Corp", title="Checkout down"):
    """A red-status outage detected 3 h ago, resolved 1 h ago; returns its id."""
    iid = open_test_incident(app_db, account, ANSWERS, title=title, policy="red-status", minutes_ago=180)
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM, now=now,
                                   at=now - dt.timedelta(hours=1), reason="fixed by rollback")
    return iid


def page(script, username, incident_id):
    return app_test(script, username, timeout=30, query={"id": str(incident_id)}).run()


def _report(app_db, iid, kind="report"):
    with session_scope(app_db) as s:
        row = s.scalar(select(IncidentReport).where(IncidentReport.incident_id == iid, IncidentReport.kind == kind))
        return (row.status, dict(row.sections), row.version) if row else None


def _save_draft(app_db, iid, username, role, kind="report"):
    """Store the first draft as written from the record, as `username` would by pressing Save."""
    with session_scope(app_db) as s:
        user = s.scalar(select(User).where(User.username == username))
        reports.save_sections(s, incident_id=iid, kind=kind, sections={},
                              actor=Actor(user.id, username, role), now=dt.datetime.now(dt.UTC),
                              expected_version=reports.UNSAVED_VERSION)


def _area(at, iid, section, kind="report", gen=0):
    return at.text_area(key=f"rep_{kind}_{iid}_{section}_{gen}")


def _click(at, label):
    at.button[[b.label for b in at.button].index(label)].click().run()


@pytest.mark.parametrize("script, kind, heading", [("pages/report.py", "report", "Critical incident report"),
                                                   ("pages/postmortem.py", "postmortem", "Blameless post-mortem")])
@pytest.mark.parametrize("role", ["csm", "lead", "admin"])
def test_every_role_opens_the_document_and_its_editors_can_edit(workspace, app_db, script, kind, heading, role):
    iid = resolved_incident(app_db)
    at = page(script, f"{role}1", iid)
    assert not at.exception, at.exception
    assert f"{heading} · #{iid} Checkout down" in texts(at)
    sections = [s.key for s in SECTIONS[ReportKind(kind)]]
    assert all(_area(at, iid, key, kind).value.strip() for key in sections), "generated from the record"
    assert "Not saved yet: this first draft is written from the record" in texts(at)
    assert _report(app_db, iid, kind) is None, "opening the page stores nothing"


@pytest.mark.parametrize("script, kind, title", [("pages/report.py", "report", "critical incident report"),
                                                 ("pages/postmortem.py", "postmortem", "blameless post-mortem")])
def test_csm_of_another_account_sees_not_written_yet_then_reads(workspace, app_db, script, kind, title):
    iid = resolved_incident(app_db, "Globex")
    at = page(script, "csm1", iid)
    assert not at.exception
    shown = texts(at)
    assert f"The {title} is not written yet" in shown
    assert not any(s.title in shown for s in SECTIONS[ReportKind(kind)]), "no draft shown as if saved"
    assert not at.text_area and {"Move status", "Save"}.isdisjoint(b.label for b in at.button)
    assert not [d for d in at.get("download_button") if d.proto.label.startswith("Download")], "nothing to export"
    assert _report(app_db, iid, kind) is None
    _save_draft(app_db, iid, "lead1", Role.LEAD, kind)
    shown = texts(page(script, "csm1", iid))
    assert f"You can read this {title}" in shown and "not written yet" not in shown
    assert all(s.title in shown for s in SECTIONS[ReportKind(kind)])


def test_save_edits_the_report(workspace, app_db):
    iid = resolved_incident(app_db)
    at = page("pages/report.py", "csm1", iid)
    _area(at, iid, "root_cause").set_value("Primary cause: an expired certificate.")
    _click(at, "Save")
    assert not at.exception
    assert "Saved." in texts(at)
    assert _report(app_db, iid)[1]["root_cause"] == "Primary cause: an expired certificate."


def test_stale_save_is_refused_and_keeps_what_was_typed(workspace, app_db):
    iid = resolved_incident(app_db)
    at = page("pages/report.py", "csm1", iid)
    assert _report(app_db, iid) is None
    with session_scope(app_db) as s:
        # The lead saves the first draft while the CSM edits it.
        lead = s.scalar(select(User).where(User.username == "lead1"))
        reports.save_sections(s, incident_id=iid, kind="report", sections={"root_cause": "Lead's finding"},
                              actor=Actor(lead.id, "lead1", Role.LEAD), now=dt.datetime.now(dt.UTC),
                              expected_version=reports.UNSAVED_VERSION)
    _area(at, iid, "root_cause").set_value("My finding")
    _click(at, "Save")
    shown = texts(at)
    assert "Lead1 saved this critical incident report" in shown and "Your text was not saved" in shown
    assert _area(at, iid, "root_cause").value == "My finding", "the form keeps what the person typed"
    assert "Lead's finding" in shown, "their saved text is shown next to the form"
    assert _report(app_db, iid)[1]["root_cause"] == "Lead's finding"
    _area(at, iid, "root_cause").set_value("Lead's finding, and mine")
    _click(at, "Save")
    assert _report(app_db, iid)[1]["root_cause"] == "Lead's finding, and mine", "a deliberate retry applies"


def test_csm_sends_to_review_and_only_a_lead_marks_it_reviewed(workspace, app_db):
    iid = resolved_incident(app_db)
    csm = page("pages/report.py", "csm1", iid)
    assert "Save the draft first; then it can go to review." in texts(csm)
    assert "Move status" not in [b.label for b in csm.button]
    _click(csm, "Save")
    assert _report(app_db, iid)[0] == "draft"
    assert csm.selectbox(key="report_target_report").options == ["In review"]
    _click(csm, "Move status")
    assert _report(app_db, iid)[0] == "in_review"
    assert csm.selectbox(key="report_target_report").options == ["Draft"]
    assert "Marking it reviewed or closed is for leads and admins." in texts(csm)
    lead = page("pages/report.py", "lead1", iid)
    assert lead.selectbox(key="report_target_report").options == ["Draft", "Reviewed"]
    lead.selectbox(key="report_target_report").select("reviewed")
    _click(lead, "Move status")
    assert _report(app_db, iid)[0] == "reviewed"
    history = lead.dataframe[0].value
    assert list(history["To"]) == ["Draft", "In review", "Reviewed"]
    assert list(history["Who"])[1:] == ["csm1", "lead1"]
    locked = page("pages/report.py", "csm1", iid)
    assert not locked.text_area and "The text is locked once reviewed" in texts(locked)


def test_review_schedule_is_created_and_ticked_off(workspace, app_db):
    iid = resolved_incident(app_db)
    with session_scope(app_db) as s:
        tasks = s.scalars(select(ReviewTask).where(ReviewTask.incident_id == iid).order_by(ReviewTask.due_at)).all()
        assert [t.key for t in tasks] == ["review-24h", "review-1w", "review-1m"], "resolving scheduled them"
        first = tasks[0].id
    at = page("pages/report.py", "csm1", iid)
    assert "Add to my calendar (.ics)" in [d.proto.label for d in at.get("download_button")]
    at.button(key=f"review_{first}").click().run()
    assert not at.exception and "Review updated." in texts(at)
    with session_scope(app_db) as s:
        assert s.get(ReviewTask, first).done_at is not None


def test_report_exports_and_client_summary(workspace, app_db):
    iid = resolved_incident(app_db)
    at = page("pages/report.py", "lead1", iid)
    assert "Nothing to export until the critical incident report is saved." in texts(at)
    _click(at, "Save")
    labels = [d.proto.label for d in at.get("download_button")]
    assert {"Download Markdown", "Download PDF", "Download the client summary"} <= set(labels)
    summary = "\n".join(c.value for c in at.code)
    assert f"Subject: Resolved: Checkout down (reference #{iid})" in summary and "red-status" not in summary


def test_postmortem_action_items_need_a_due_date_and_are_ticked_off(workspace, app_db):
    iid = resolved_incident(app_db)
    at = page("pages/postmortem.py", "csm1", iid)
    at.text_input(key="pm_ai_title").set_value("Alert on certificate expiry")
    _click(at, "Add action item")
    assert "Give the action item a due date." in texts(at)
    assert at.text_input(key="pm_ai_title").value == "Alert on certificate expiry", "the form keeps the title"
    at.date_input(key="pm_ai_due").set_value(dt.date.today() + dt.timedelta(days=7))
    _click(at, "Add action item")
    assert "Action item added." in texts(at)
    with session_scope(app_db) as s:
        item = s.scalar(select(ActionItem).where(ActionItem.incident_id == iid))
        assert (item.source, item.title, item.due_at is not None) == ("postmortem", "Alert on certificate expiry", True)
    at.checkbox(key=f"pm_ai_{item.id}").check().run()
    with session_scope(app_db) as s:
        assert s.get(ActionItem, item.id).done_at is not None


def test_overdue_postmortem_action_shows_on_the_owners_home(workspace, app_db):
    iid = resolved_incident(app_db)
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        csm = s.scalar(select(User).where(User.username == "csm1"))
        lead = s.scalar(select(User).where(User.username == "lead1"))
        reports.add_postmortem_action(s, incident_id=iid, title="Rotate the gateway certificate", owner_id=csm.id,
                                      due_at=now - dt.timedelta(hours=2),
                                      actor=Actor(lead.id, "lead1", Role.LEAD), now=now)
    home = page("pages/home.py", "csm1", iid)
    shown = texts(home)
    assert "My overdue post-mortem actions (1)" in shown
    [action] = links_to(home, "postmortem", id=iid)
    assert "Rotate the gateway certificate" in action and f"#{iid} Checkout down" in action
    assert "My overdue post-mortem actions" not in texts(page("pages/home.py", "lead1", iid))


def test_incident_page_links_documents_and_earlier_postmortems(workspace, app_db):
    earlier = resolved_incident(app_db, title="Earlier outage")
    _save_draft(app_db, earlier, "lead1", Role.LEAD, "postmortem")
    iid = resolved_incident(app_db, title="Outage again")
    at = page("pages/incident.py", "csm1", iid)
    assert not at.exception
    shown = texts(at)
    assert links_to(at, "report", id=iid) == ["Critical incident report"]
    assert links_to(at, "postmortem", id=iid) == ["Blameless post-mortem"]
    assert "Earlier post-mortems on this account" in shown
    [earlier_link] = links_to(at, "postmortem", id=earlier)
    assert earlier_link.startswith(f"#{earlier} Earlier outage · detected")
    with session_scope(app_db) as s:
        assert s.scalars(select(ReviewTask).where(ReviewTask.incident_id == iid)).all(), "resolution scheduled reviews"
    report = page("pages/report.py", "lead1", iid)
    assert "Earlier post-mortems on this account" in texts(report)


def test_open_incident_has_no_report_yet(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", ANSWERS)
    at = page("pages/report.py", "csm1", iid)
    assert f"Incident #{iid} is not resolved yet" in texts(at)
    assert "There is no incident #999999" in texts(page("pages/postmortem.py", "csm1", 999999))
