"""Followers and drills on the pages: Triage opens a drill, every list marks it, the incident page follows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.incident import flows as incidents
from core.people.users import SYSTEM
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident, IncidentFollower, User
from tests.pages.conftest import app_test, page_as, texts
from tests.pages.test_incident_pages import incident_page


def _open_drill(app_db, *, title: str = "Monthly escalation drill") -> int:
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        return incidents.open_incident(
            s, account_id=account.id, title=title, summary="Exercise.",
            answers=Answers.model_validate({"business_impact": "major"}), policy_name="growth-engine",
            actor=SYSTEM, now=now, detected_at=now - dt.timedelta(minutes=5), is_drill=True).id


def _followers(app_db, incident_id: int) -> list[str]:
    with session_scope(app_db) as s:
        return list(s.scalars(select(User.username).join(IncidentFollower, IncidentFollower.user_id == User.id)
                              .where(IncidentFollower.incident_id == incident_id).order_by(User.username)))


def test_triage_opens_a_drill_when_the_box_is_ticked(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("Monthly escalation drill").run()
    drill = at.checkbox(key="triage_drill")
    assert "This is a drill" in drill.label and drill.value is False
    drill.check().run()
    at.button(key="triage_open").click().run()
    assert not at.exception
    with session_scope(app_db) as s:
        incident = s.scalars(select(Incident)).one()
        assert incident.is_drill is True
    # It lands on the incident, marked as a drill, and the next form starts unticked.
    assert "DRILL" in texts(at) and "Drill incident" in texts(at)
    assert "triage_drill" not in at.session_state


def test_an_incident_opened_without_the_box_is_no_drill(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("Orders not syncing").run()
    at.button(key="triage_open").click().run()
    with session_scope(app_db) as s:
        assert s.scalars(select(Incident.is_drill)).one() is False
    assert "DRILL" not in texts(at)


def test_the_incident_page_marks_a_drill_and_follow_toggles(workspace, app_db):
    iid = _open_drill(app_db)
    at = incident_page("csm1", iid)
    assert not at.exception
    shown = texts(at)
    assert "DRILL" in shown and "Nobody follows this incident yet." in shown
    assert at.button(key="follow_toggle").label == "Follow"
    at.button(key="follow_toggle").click().run()
    assert not at.exception
    assert _followers(app_db, iid) == ["csm1"]
    assert at.button(key="follow_toggle").label == "Unfollow"
    assert "Followed by Csm1" in texts(at)
    at.button(key="follow_toggle").click().run()
    assert _followers(app_db, iid) == []
    assert at.button(key="follow_toggle").label == "Follow"


def test_a_lead_adds_someone_else_and_a_csm_cannot(workspace, app_db):
    iid = _open_drill(app_db)
    csm = incident_page("csm1", iid)
    assert not [b for b in csm.button if b.key == "follow_add"]
    lead = incident_page("lead1", iid)
    assert not lead.exception
    lead.selectbox(key="follow_add_user").select(workspace["admin"]).run()
    lead.button(key="follow_add").click().run()
    assert not lead.exception
    assert _followers(app_db, iid) == ["admin1"]
    assert "Followed by Admin1" in texts(lead)


def test_lists_board_and_composer_mark_a_drill(workspace, app_db):
    iid = _open_drill(app_db)
    board = page_as("pages/board.py", "lead1")
    assert not board.exception and "DRILL" in texts(board)
    listing = page_as("pages/incidents.py", "lead1")
    assert not listing.exception
    assert "DRILL · Monthly escalation drill" in listing.dataframe[0].value["Title"].tolist()
    home = page_as("pages/home.py", "lead1")
    assert "DRILL · Monthly escalation drill" in home.dataframe[0].value["Title"].tolist()
    composer = app_test("pages/compose.py", "csm1", timeout=30, query={"id": str(iid)}).run()
    assert not composer.exception
    assert "This incident is an exercise" in texts(composer)


def test_home_lists_the_incidents_i_follow(workspace, app_db):
    iid = _open_drill(app_db, title="Followed drill")
    at = incident_page("csm1", iid)
    at.button(key="follow_toggle").click().run()
    home = page_as("pages/home.py", "csm1")
    assert not home.exception
    assert "Incidents I follow" in texts(home)
