"""Triage page: live classification, bad input keeps answers, Open incident stores a snapshot."""

from sqlalchemy import select

from db.engine import session_scope
from db.models import Incident
from tests.pages.conftest import page_as, texts


def test_csm_sees_only_their_accounts_and_the_default_policy(workspace):
    at = page_as("pages/triage.py", "csm1")
    assert not at.exception
    assert at.selectbox(key="triage_account").options == ["Acme Corp (enterprise)"]
    assert at.selectbox(key="triage_policy").value == "default"
    lead = page_as("pages/triage.py", "lead1")
    assert lead.selectbox(key="triage_account").options == ["Acme Corp (enterprise)", "Globex (basic)"]


def test_classification_updates_live_with_reasons(workspace):
    at = page_as("pages/triage.py", "lead1")
    at.selectbox(key="triage_policy").select("spark").run()
    at.selectbox(key="answer_business_impact").select("stopped").run()
    shown = texts(at)
    assert "P0" in shown and "Why" in shown
    assert "spark-customer-emergency-protocol.md" in shown


def test_open_incident_refused_without_title_keeps_every_answer(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="answer_business_impact").select("major").run()
    at.checkbox(key="answer_data_loss").check().run()
    at.number_input(key="answer_users_affected_pct").set_value(40).run()
    at.button(key="triage_open").click().run()
    assert "Give the incident a short title" in texts(at)
    assert at.selectbox(key="answer_business_impact").value == "major"
    assert at.checkbox(key="answer_data_loss").value is True
    assert at.number_input(key="answer_users_affected_pct").value == 40
    with session_scope(app_db) as s:
        assert s.scalars(select(Incident)).all() == []


def test_open_incident_saves_answers_result_and_policy_snapshot(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_policy").select("red-status").run()
    at.text_input(key="triage_title").input("Orders not syncing").run()
    at.checkbox(key="answer_security_breach").check().run()
    at.button(key="triage_open").click().run()
    assert not at.exception
    assert "opened as" in texts(at)
    with session_scope(app_db) as s:
        incident = s.scalars(select(Incident)).one()
        assert incident.title == "Orders not syncing"
        assert incident.answers["security_breach"] is True
        assert incident.answers["customer"] == "Acme Corp"
        assert incident.policy_name == "red-status" and incident.policy_snapshot["name"] == "red-status"
        assert incident.red_status is True
        assert incident.triage_result["severity"] == incident.severity
        assert incident.next_deadline_at is not None
    assert at.text_input(key="triage_title").value == "", "the form is fresh for the next emergency"
