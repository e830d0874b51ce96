"""Triage page: live classification, bad input keeps answers, Open incident stores a snapshot."""

from sqlalchemy import select

from db.engine import session_scope
from db.models import Incident
from tests.pages.conftest import links_to, open_test_incident, page_as, texts


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


def test_no_account_is_preselected_and_opening_without_one_says_to_pick_it(workspace, app_db):
    at = page_as("pages/triage.py", "lead1")
    assert at.selectbox(key="triage_account").value is None, "a hurried CSM must not open on the wrong client"
    at.text_input(key="triage_title").input("Orders not syncing").run()
    at.button(key="triage_open").click().run()
    assert "Pick the customer account first" in texts(at)
    assert at.text_input(key="triage_title").value == "Orders not syncing"
    with session_scope(app_db) as s:
        assert s.scalars(select(Incident)).all() == []


def test_open_incident_refused_without_title_keeps_every_answer(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
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
    at.selectbox(key="triage_account").select_index(0)
    at.selectbox(key="triage_policy").select("red-status").run()
    at.text_input(key="triage_title").input("Orders not syncing").run()
    at.checkbox(key="answer_security_breach").check().run()
    at.button(key="triage_open").click().run()
    assert not at.exception
    assert "opened as" in texts(at)
    with session_scope(app_db) as s:
        incident = s.scalars(select(Incident)).one()
        assert incident.idempotency_key, "opened with the form's token"
        # Detected at the moment of opening: the form's load time is not used.
        assert abs((incident.detected_at - incident.created_at).total_seconds()) < 1
        assert incident.title == "Orders not syncing"
        assert incident.answers["security_breach"] is True
        assert incident.answers["customer"] == "Acme Corp"
        assert incident.policy_name == "red-status" and incident.policy_snapshot["name"] == "red-status"
        assert incident.red_status is True
        assert incident.triage_result["severity"] == incident.severity
        assert incident.next_deadline_at is not None
    # Opening lands on the new incident, and the form it leaves is fresh for the next emergency.
    assert f"#{incident.id} · Orders not syncing" in texts(at)
    assert not [k for k in ("triage_title", "triage_account", "triage_token", "answer_csat", "answer_security_breach")
                if k in at.session_state]


def test_a_second_click_with_the_same_form_lands_on_the_same_incident(workspace, app_db):
    # The double click: the second click reaches the server with the same form (same token) before the
    # first run emptied it. Simulated by running the open twice with the token the form carried.
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("Orders not syncing").run()
    token = at.session_state["triage_token"]
    at.button(key="triage_open").click().run()
    again = page_as("pages/triage.py", "csm1")
    again.session_state["triage_token"] = token
    again.selectbox(key="triage_account").select_index(0)
    again.text_input(key="triage_title").input("Orders not syncing").run()
    again.button(key="triage_open").click().run()
    assert not again.exception
    assert "was already opened from this form: here it is." in texts(again)
    with session_scope(app_db) as s:
        assert len(s.scalars(select(Incident)).all()) == 1


def test_an_open_incident_with_a_similar_title_is_offered_without_blocking(workspace, app_db):
    twin = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Checkout API returns 500s")
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("checkout api returning 500s").run()
    assert "Maybe already open" in texts(at)
    assert links_to(at, "incident", id=twin) == [f"#{twin} · P1 · Checkout API returns 500s"]
    at.button(key="triage_open").click().run()
    with session_scope(app_db) as s:
        assert len(s.scalars(select(Incident)).all()) == 2, "the notice never blocks opening"


def test_preview_shows_the_planned_ladder_beside_the_deadlines(workspace):
    # teamflow Security Incident Escalation: the Engineering Manager within 15 minutes (L3), CTO and CEO
    # informed in the 15-60 minute follow-up window (L4 from 15 min, due at 1 h).
    import datetime as dt

    at = page_as("pages/triage.py", "lead1")
    at.selectbox(key="triage_account").select_index(1)  # Globex, a basic account: no enterprise step
    at.selectbox(key="triage_policy").select("teamflow")
    at.toggle(key="triage_earlier").set_value(True).run()
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
