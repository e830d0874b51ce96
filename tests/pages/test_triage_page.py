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


def test_preview_shows_the_planned_ladder_beside_the_deadlines(workspace):
    # teamflow Security Incident Escalation: the Engineering Manager within 15 minutes (L3), CTO and CEO
    # informed in the 15-60 minute follow-up window (L4 from 15 min, due at 1 h).
    import datetime as dt

    at = page_as("pages/triage.py", "lead1")
    at.selectbox(key="triage_account").select_index(1)  # Globex, a basic account: no enterprise step
    at.selectbox(key="triage_policy").select("teamflow")
    at.date_input(key="triage_day").set_value(dt.date(2026, 3, 2))
    at.time_input(key="triage_time").set_value(dt.time(10, 0))
    at.checkbox(key="answer_security_breach").check().run()
    assert not at.exception
    assert "**Escalation ladder it plans**" in texts(at)
    ladder = next(f.value for f in at.dataframe if "Required from" in f.value.columns)
    assert ladder[["Level", "Required from", "Due", "From detection"]].to_dict("records") == [
        {"Level": "L3 · Management", "Required from": "Mon 02 Mar 10:00 UTC", "Due": "Mon 02 Mar 10:15 UTC",
         "From detection": "0 min to 15 min"},
        {"Level": "L4 · Executive", "Required from": "Mon 02 Mar 10:15 UTC", "Due": "Mon 02 Mar 11:00 UTC",
         "From detection": "15 min to 60 min"},
    ]
    deadlines = next(f.value for f in at.dataframe if "Clock" in f.value.columns)
    assert "Reach the required escalation level" in set(deadlines["Clock"])
