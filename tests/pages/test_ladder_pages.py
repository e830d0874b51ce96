"""Issue 14 on the incident page (AppTest): the escalation ladder, the levels' response clocks and recording a
response, the client updates panel, and a severity change below the floor refused beside the kept form.

Cases come from the playbooks: teamflow-escalation-policies.md (Security Incident Escalation: security team at
once, CTO and CEO in the 15-60 minute follow-up window) and spark-customer-emergency-protocol.md (P0
communication timeline: acknowledgment 15 min, assessment 30 min, progress 60 min, then every hour).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from core.sla.response_log import responses_of
from db.engine import session_scope
from db.models import Incident, User
from tests.literal_text import visible_text
from tests.pages.conftest import open_test_incident, page_as, texts
from tests.pages.test_incident_pages import incident_page
from ui.format import local_time

SECURITY = {"security_breach": True}
OUTAGE = {"business_impact": "stopped", "complete_outage": True}
MIN = dt.timedelta(minutes=1)


def detected(app_db, incident_id: int) -> dt.datetime:
    with session_scope(app_db) as s:
        moment = s.get(Incident, incident_id).detected_at
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def set_zone(app_db, username: str, time_zone: str) -> None:
    with session_scope(app_db) as s:
        s.scalar(select(User).where(User.username == username)).time_zone = time_zone


def table(at, first_column: str):
    """The st.table whose index is `first_column`, its Markdown cells as the reader sees them."""
    frame = next(t.value for t in at.table if t.value.index.name == first_column)
    frame = frame.map(lambda cell: visible_text(str(cell)))
    frame.index = [visible_text(str(label)) for label in frame.index]
    return frame


def escalate(app_db, incident_id: int, level: str, at: dt.datetime) -> None:
    with session_scope(app_db) as s:
        incidents.escalate(s, incident_id=incident_id, to_level=level, reason="Needs them", actor=SYSTEM,
                           now=dt.datetime.now(dt.UTC), at=at)


def test_teamflow_security_breach_ladder_rows(workspace, app_db):
    # Security Incident Escalation: Engineering Manager (L3) within the 15-minute window; "Follow-up Actions
    # (15-60 minutes): Inform CTO and CEO" is the L4 step, required from 15 min and due at 1 h.
    iid = open_test_incident(app_db, "Globex", SECURITY, title="Breach", policy="teamflow", minutes_ago=30)
    set_zone(app_db, "lead1", "Europe/Paris")
    t0, paris = detected(app_db, iid), "Europe/Paris"
    at = incident_page("lead1", iid)
    assert not at.exception
    ladder = table(at, "Level")
    assert list(ladder.index) == ["L3 · Management", "L4 · Executive"]
    l3, l4 = ladder.loc["L3 · Management"], ladder.loc["L4 · Executive"]
    assert (l3["Required from"], l3["Due"], l3["Reached"], l3["State"]) == (
        local_time(t0, paris), local_time(t0 + 15 * MIN, paris), "", "🔴 breached")
    assert (l4["Required from"], l4["Due"], l4["Reached"], l4["State"]) == (
        local_time(t0 + 15 * MIN, paris), local_time(t0 + 60 * MIN, paris), "", "⏳ pending")
    assert "CET" in l4["Due"] or "CEST" in l4["Due"], "times are in the viewer's zone"
    assert "Outages and security incidents go to the Engineering Manager." in l3["Why"]
    assert "Security breaches go to the CTO" in l4["Why"]
    assert "Engineering Manager" in l3["Contacts"]
    assert "CTO" in l4["Contacts"] and "CEO" in l4["Contacts"]


def test_reaching_a_level_meets_its_step_and_starts_its_response_clock(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", SECURITY, title="Breach", policy="teamflow", minutes_ago=30)
    t0 = detected(app_db, iid)
    escalate(app_db, iid, "L3", t0 + 10 * MIN)
    at = incident_page("lead1", iid)
    assert not at.exception
    ladder = table(at, "Level")
    assert ladder.loc["L3 · Management", "State"] == "✅ met"
    assert ladder.loc["L3 · Management", "Reached"] == local_time(t0 + 10 * MIN, "UTC")
    clocks = table(at, "Clock")
    # teamflow Response Time SLAs: Level 3 responds within 2 hours of taking the case.
    row = clocks.loc["Management responds (L3)"]
    assert (row["Target"], row["Deadline"], row["State"]) == (
        "2h 00m", local_time(t0 + 130 * MIN, "UTC"), "⏳ running")


def test_recording_a_level_response_meets_its_clock(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", SECURITY, title="Breach", policy="teamflow", minutes_ago=30)
    escalate(app_db, iid, "L3", detected(app_db, iid) + 10 * MIN)
    reader = incident_page("csm1", iid)
    assert not [b for b in reader.button if b.key and b.key.startswith("resp_")], "only editors record responses"
    at = incident_page("lead1", iid)
    assert "**Levels waiting to respond**: L3 · Management" in texts(at)
    at.button(key="resp_now_L3").click().run()
    assert not at.exception
    assert "L3's response recorded." in texts(at)
    assert table(at, "Clock").loc["Management responds (L3)", "State"] == "✅ met"
    assert not [b for b in at.button if b.key == "resp_now_L3"], "a level responds once"
    with session_scope(app_db) as s:
        assert set(responses_of(s.get(Incident, iid))) == {"L3"}


def test_an_earlier_response_needs_a_reason_and_can_be_late(workspace, app_db):
    # teamflow L2 (senior support) responds within 4 hours; recorded 5 hours after the escalation it is breached.
    iid = open_test_incident(app_db, "Globex", SECURITY, title="Breach", policy="teamflow", minutes_ago=400)
    t0 = detected(app_db, iid)
    escalate(app_db, iid, "L2", t0 + 10 * MIN)
    at = incident_page("lead1", iid)
    late = t0 + 10 * MIN + dt.timedelta(hours=5)
    at.selectbox(key="resp_level").select("L2")
    at.date_input(key="resp_day").set_value(late.date())
    at.time_input(key="resp_time").set_value(late.time().replace(second=0, microsecond=0))
    at.button[[b.label for b in at.button].index("Record response")].click().run()
    assert "Say why you record this response at an earlier time" in texts(at)
    assert at.selectbox(key="resp_level").value == "L2", "the form keeps what was typed"
    at.text_input(key="resp_reason").input("The specialist called back then")
    at.button[[b.label for b in at.button].index("Record response")].click().run()
    assert not at.exception
    assert table(at, "Clock").loc["Senior support responds (L2)", "State"] == "🔴 breached"


def test_spark_p0_client_updates_follow_the_communication_timeline(workspace, app_db):
    # SPARK P0 Communication Timeline: acknowledgment < 15 min, initial assessment 30 min, progress update 60 min,
    # then "Every hour: Progress updates until resolved", one hour after the last message.
    iid = open_test_incident(app_db, "Acme Corp", OUTAGE, title="Down", policy="spark", minutes_ago=90)
    t0 = detected(app_db, iid)
    at = incident_page("csm1", iid)
    updates = table(at, "Due")
    assert list(updates["Message"]) == ["Customer acknowledgment", "Initial assessment to the customer",
                                        "Progress update to the customer"]
    assert list(updates.index) == [local_time(t0 + m * MIN, "UTC") for m in (15, 30, 60)]
    assert set(updates["State"]) == {"🔴 breached"} and set(updates["Sent"]) == {""}
    for minutes in (14, 29, 59):
        with session_scope(app_db) as s:
            incidents.record_milestone(s, incident_id=iid, milestone=Milestone.CLIENT_NOTIFIED, actor=SYSTEM,
                                       now=dt.datetime.now(dt.UTC), at=t0 + minutes * MIN, reason="sent by phone")
    at = incident_page("csm1", iid)
    assert not at.exception
    updates = table(at, "Due")
    assert list(updates.index) == [local_time(t0 + m * MIN, "UTC") for m in (15, 30, 60, 119)]
    assert list(updates["Message"])[-1] == "Client update"
    assert list(updates["Sent"]) == [local_time(t0 + m * MIN, "UTC") for m in (14, 29, 59)] + [""]
    assert list(updates["State"]) == ["✅ met", "✅ met", "✅ met", "⏳ pending"]
    assert f"Next to send: Client update, due {local_time(t0 + 119 * MIN, 'UTC')}" in texts(at)
    assert "P0 communication timeline · then every 1h 00m" in texts(at)


def test_severity_below_the_floor_is_refused_beside_the_kept_form(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", SECURITY, title="Breach", policy="teamflow", minutes_ago=5)
    at = incident_page("lead1", iid)
    at.selectbox(key="sev_new").select("P3")
    at.text_input(key="sev_reason").input("Looks minor after all")
    at.button[[b.label for b in at.button].index("Change severity")].click().run()
    assert not at.exception
    refusals = [visible_text(str(e.value)) for e in at.error if "floor" in str(e.value)]
    assert refusals and "P3 is below this incident's floor of P0" in refusals[0]
    assert "Choose P0 or a more severe one." in refusals[0]
    assert at.selectbox(key="sev_new").value == "P3" and at.text_input(key="sev_reason").value == \
        "Looks minor after all", "the form keeps what was typed"
    with session_scope(app_db) as s:
        assert s.get(Incident, iid).severity == "P0"


def test_board_card_names_a_response_clock_as_the_next_deadline(workspace, app_db):
    # growth-engine P1: Level 2 responds within 30 minutes, before any other clock of this incident falls due.
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Needs L2", minutes_ago=1)
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM, now=now)
    escalate(app_db, iid, "L2", now)
    with session_scope(app_db) as s:
        assert s.get(Incident, iid).next_deadline_clock == "response_L2"
    for script in ("pages/board.py", "pages/home.py", "pages/incidents.py"):
        at = page_as(script, "csm1")
        assert not at.exception, script
        shown = texts(at) + " ".join(str(v) for f in at.dataframe for v in f.value.to_numpy().ravel())
        assert "L2 responds: in " in shown and "response_L2" not in shown, script
