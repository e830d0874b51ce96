"""The cockpit's actions through AppTest (issue 15): the war room on top, one-click main-path actions with the one
that settles the most urgent thing owed as the primary button, escalation the ladder asks for in one click,
who to call at every level, questions before closing or lowering, toasts, and forms that empty after a save
but keep what was typed after a refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from db.engine import session_scope
from db.models import ActionItem, Escalation, Incident
from tests.literal_text import visible_text
from tests.pages.conftest import open_test_incident, texts
from tests.pages.test_incident_pages import incident_page


def _row(app_db, iid: int) -> Incident:
    with session_scope(app_db) as s:
        row = s.get(Incident, iid)
        s.expunge(row)
        return row


def _record(app_db, iid: int, *milestones: Milestone) -> None:
    for milestone in milestones:
        with session_scope(app_db) as s:
            incidents.record_milestone(s, incident_id=iid, milestone=milestone, actor=SYSTEM,
                                       now=dt.datetime.now(dt.UTC))


def _toasts(at) -> list[str]:
    return [visible_text(str(t.value)) for t in at.toast]


def _primary(at) -> list[str]:
    return [b.key for b in at.button if b.proto.type == "primary" and b.key and b.key.startswith(("ms_", "cockpit"))]


def test_the_war_room_is_on_top_and_can_be_added_from_the_page(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert not at.get("link_button"), "no war room yet: nothing to join"
    at.text_input(key="war_room_url").input("javascript:alert(1)")
    at.button[[b.label for b in at.button].index("Save link")].click().run()
    assert "must be a web address starting with https://" in texts(at)
    assert at.text_input(key="war_room_url").value == "javascript:alert(1)", "the refused link stays to be fixed"
    at.text_input(key="war_room_url").input("https://meet.example.com/acme-p1")
    at.button[[b.label for b in at.button].index("Save link")].click().run()
    assert not at.exception
    assert _row(app_db, iid).war_room_url == "https://meet.example.com/acme-p1"
    assert "War room link saved." in texts(at)
    join = at.get("link_button")
    assert len(join) == 1 and join[0].proto.url == "https://meet.example.com/acme-p1"
    assert join[0].proto.label == "Join the war room"


def test_the_main_path_is_one_click_each_and_the_most_urgent_is_the_primary_button(workspace, app_db):
    # growth-engine P1 detected 30 minutes ago: acknowledging (15 min) is the most urgent thing owed.
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    keys = [b.key for b in at.button if b.key and b.key.startswith("ms_")]
    assert keys == ["ms_acknowledged", "ms_client_notified", "ms_mobilized", "ms_mitigated", "ms_resolved"]
    assert _primary(at) == ["ms_acknowledged"]
    at.button(key="ms_acknowledged").click().run()
    assert "Acknowledged recorded." in _toasts(at)
    # Next most urgent: Level 3, required from detection and due within the hour: escalating is the primary action.
    assert _primary(at) == ["cockpit_escalate"]
    assert at.button(key="cockpit_escalate").label == "Escalate to L3 now"
    at.button(key="cockpit_escalate").click().run()
    assert not at.exception
    with session_scope(app_db) as s:
        escalation = s.scalars(select(Escalation).where(Escalation.incident_id == iid)).one()
        assert escalation.to_level == "L3" and escalation.reason.startswith("The escalation ladder requires it: ")
    assert "Escalated to L3. Handoff summary:" in texts(at), "the handoff to pass on is shown once, to copy"
    assert not [b for b in at.button if b.key == "cockpit_escalate"], "L3 reached: the ladder asks for nothing now"


def test_who_to_call_lists_every_level_with_phone_and_email_or_says_they_are_missing(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("lead1", iid)
    table = next(d.value for d in at.dataframe if "Phone" in d.value.columns)
    assert list(table["Level"])[:2] == ["L1 · Basic support", "L2 · Advanced support"]
    assert list(table["Phone"])[:2] == ["+1-555-SUPPORT", "+1-555-ADVANCED"]
    assert list(table["Email"])[:2] == ["support@hotdash.com", "advanced-support@hotdash.com"]
    assert "without a phone or email" not in texts(at)
    # red-status names roles only: the page says so, and where an admin adds the numbers.
    other = open_test_incident(app_db, "Acme Corp", {"complete_outage": True}, policy="red-status")
    at = incident_page("lead1", other)
    table = next(d.value for d in at.dataframe if "Phone" in d.value.columns)
    assert set(table["Phone"]) == {"not in the policy"}
    assert "without a phone or email in red-status" in texts(at)
    assert "on the Policies page" in texts(at)


def test_closing_asks_first_and_changes_nothing_until_answered(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _record(app_db, iid, Milestone.RESOLVED)
    at = incident_page("lead1", iid)
    assert [b.key for b in at.button if b.key and b.key.startswith("ms_")] == ["ms_client_confirmed"]
    at.button(key="cockpit_close").click().run()
    assert not at.exception
    assert "Close incident? Its record is final" in texts(at)
    assert _row(app_db, iid).status == "resolved", "nothing is closed by the first click"
    # The status form asks the same question for the same move.
    at = incident_page("lead1", iid)
    at.selectbox(key="status_target").select("closed")
    at.button[[b.label for b in at.button].index("Move status")].click().run()
    assert "Close incident? Its record is final" in texts(at)
    assert _row(app_db, iid).status == "resolved"


def test_the_client_confirms_the_fix_with_one_click_after_resolution(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _record(app_db, iid, Milestone.RESOLVED)
    at = incident_page("csm1", iid)
    at.button(key="ms_client_confirmed").click().run()
    assert not at.exception
    assert _row(app_db, iid).client_confirmed_at is not None
    assert "Client confirmed the fix recorded." in _toasts(at)


@pytest.mark.parametrize("new, asks", [("P2", True), ("P0", False)])
def test_lowering_the_severity_asks_first_raising_does_not(workspace, app_db, new, asks):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("lead1", iid)
    at.selectbox(key="sev_new").select(new)
    at.text_input(key="sev_reason").input("Impact re-assessed with the client")
    at.button[[b.label for b in at.button].index("Change severity")].click().run()
    assert not at.exception
    assert ("Lower the severity from P1 to P2?" in texts(at)) == asks
    assert _row(app_db, iid).severity == ("P1" if asks else "P0")


def test_an_action_item_form_empties_after_a_save_and_keeps_its_text_after_a_refusal(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    add = [b.label for b in at.button].index("Add action item")
    at.text_input(key="ai_title").input("   ")
    at.button[add].click().run()
    assert at.error, "an empty action item is refused"
    at.text_input(key="ai_title").input("Call the client's CTO")
    at.button[[b.label for b in at.button].index("Add action item")].click().run()
    assert not at.exception
    assert not at.error, "the earlier refusal is gone once the item is saved"
    assert at.text_input(key="ai_title").value == "", "the saved item's text is not left to be added twice"
    assert "Action item added." in _toasts(at)
    with session_scope(app_db) as s:
        assert s.scalars(select(ActionItem.title).where(ActionItem.incident_id == iid)).all() == [
            "Call the client's CTO"]


def _now_phase(at) -> str:
    shown = [visible_text(str(m.value)).strip("*") for m in at.markdown]
    return next(text for text in shown if text.startswith("Now: "))


def test_the_current_phase_shows_its_steps_and_moves_on_when_they_are_done(workspace, app_db):
    # SPARK P0, detected 5 minutes ago: Stage 1 (triage, 0-15 min) comes first, then the P0 first actions.
    iid = open_test_incident(app_db, "Acme Corp", {"complete_outage": True, "business_impact": "stopped"},
                             policy="spark", minutes_ago=5)
    at = incident_page("csm1", iid)
    assert not at.exception
    assert _now_phase(at) == "Now: Run the emergency triage checklist and classify"
    steps = [b.key for b in at.button if b.key and b.key.startswith("step_")]
    assert steps == ["step_assess-customer-impact", "step_assess-technical-side", "step_classify-severity"]
    for key in steps:
        at.button(key=key).click().run()
        assert not at.exception
    # Stage 1 done: the P0 first actions are next, and their first step records the acknowledgment.
    assert _now_phase(at) == "Now: War room, customer told, work paused, incident commander, diagnosis begun"
    assert at.button(key="step_open-war-room").label == "Acknowledged"
    at.button(key="step_open-war-room").click().run()
    row = _row(app_db, iid)
    assert row.acknowledged_at is not None and row.status == "acknowledged"
    assert set(row.steps_done) == {"assess-customer-impact", "assess-technical-side", "classify-severity"}
    assert not [b for b in at.button if b.key == "step_open-war-room"], "a done step has no button"
    assert next(b.key for b in at.button if b.key and b.key.startswith("step_")) == "step_tell-customer-we-are-on-it"
    assert "Done: Open the war room: a chat channel or a video call." in _toasts(at)


def test_a_reader_sees_the_steps_but_no_buttons(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", {"complete_outage": True, "business_impact": "stopped"},
                             policy="spark", minutes_ago=5)
    at = incident_page("csm1", iid)
    assert _now_phase(at) == "Now: Run the emergency triage checklist and classify"
    assert not [b for b in at.button if b.key and b.key.startswith(("step_", "ms_", "cockpit_"))]
