"""Incident list, incident page and board through AppTest, per role, with conflicts."""

from sqlalchemy import select

from db.engine import session_scope
from db.models import Escalation, Incident
from tests.literal_text import visible_text
from tests.pages.conftest import app_test, links_to, open_test_incident, page_as, page_links, texts, tick_row


def incident_page(username: str, incident_id: int):

    return app_test("pages/incident.py", username, timeout=20, query={"id": str(incident_id)}).run()


def _incident(app_db, incident_id):
    with session_scope(app_db) as s:
        row = s.get(Incident, incident_id)
        return row.status, row.acknowledged_at, row.current_level, row.version


def test_page_shows_severity_levels_and_every_clock(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert not at.exception
    shown = texts(at)
    assert f"#{iid} · Checkout down" in shown and "P1" in shown
    clocks = at.table[0].value
    # st.table cells are Markdown, so the labels are escaped: compare what the reader sees.
    # Most urgent first: growth-engine P1 acknowledge 15m, Level 3 within 1h, resolve 4h, at most 8h.
    assert [visible_text(label) for label in clocks.index] == ["Acknowledge", "Reach the required escalation level",
                                                               "Resolve", "Resolve (hard limit)"]
    assert set(clocks["State"]) <= {"⏳ running", "🔴 breached"}
    # One line under the title says where the incident stands: level reached, of the one required.
    assert "not escalated, L3 required" in shown and "Acme Corp (enterprise)" in shown


def test_csm_acknowledges_with_one_click(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    at.button(key="ms_acknowledged").click().run()
    assert not at.exception
    status, acknowledged_at, _, _ = _incident(app_db, iid)
    assert status == "acknowledged" and acknowledged_at is not None
    assert "Acknowledged recorded" in texts(at)


def test_csm_reads_but_cannot_change_another_accounts_incident(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", {"business_impact": "minor"})
    at = incident_page("csm1", iid)
    assert "You can read this incident" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("ms_")]
    lead = incident_page("lead1", iid)
    assert [b for b in lead.button if b.key == "ms_acknowledged"]


def test_illegal_move_names_the_allowed_moves(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("lead1", iid)
    at.selectbox(key="status_target").select("closed")
    at.button[[b.label for b in at.button].index("Move status")].click().run()
    assert ("cannot become Closed. Allowed next: Acknowledged, Team mobilised, Workaround in place, Resolved"
            in texts(at))
    assert _incident(app_db, iid)[0] == "new"


def test_second_save_on_a_stale_page_is_a_conflict_not_a_lost_update(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    alice = incident_page("csm1", iid)
    bob = incident_page("lead1", iid)
    alice.button(key="ms_acknowledged").click().run()
    bob.button(key="ms_mobilized").click().run()
    shown = texts(bob)
    assert "was changed by someone else" in shown and "Their recent changes" in shown
    assert "milestone:acknowledged" in shown
    status, acknowledged_at, *_ = _incident(app_db, iid)
    assert status == "acknowledged" and acknowledged_at is not None
    bob.button(key="ms_mobilized").click().run()
    assert _incident(app_db, iid)[0] == "mobilized", "after seeing the change, the retry applies"


def test_escalate_records_who_why_and_the_handoff(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major", "revenue_impact_per_hour": 5000})
    at = incident_page("lead1", iid)
    at.text_area(key="esc_reason").input("Need architecture decision on the payment gateway")
    at.button[[b.label for b in at.button].index("Escalate")].click().run()
    assert not at.exception
    assert "Escalated to L3" in texts(at)
    with session_scope(app_db) as s:
        esc = s.scalars(select(Escalation).where(Escalation.incident_id == iid)).one()
        assert esc.to_level == "L3" and "payment gateway" in esc.reason and esc.handoff
        assert s.get(Incident, iid).current_level == "L3"


def test_severity_change_needs_a_reason_and_recomputes_clocks(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("lead1", iid)
    at.selectbox(key="sev_new").select("P0")
    at.button[[b.label for b in at.button].index("Change severity")].click().run()
    assert "Say why the severity changes" in texts(at)
    at.text_input(key="sev_reason").input("All payments failing now")
    at.button[[b.label for b in at.button].index("Change severity")].click().run()
    assert "Severity changed to P0" in texts(at)
    with session_scope(app_db) as s:
        row = s.get(Incident, iid)
        assert row.severity == "P0" and row.required_level == "L4"
        assert row.triage_result["targets"]["resolution"] == 2 * 3600


def test_missing_or_unknown_id(workspace):
    assert "add `?id=<number>`" in texts(page_as("pages/incident.py", "csm1"))
    assert "There is no incident #999999" in texts(incident_page("csm1", 999999))


def test_list_filters_and_links(workspace, app_db):
    a = open_test_incident(app_db, "Acme Corp", {"business_impact": "stopped"}, title="Total outage")
    b = open_test_incident(app_db, "Globex", {"business_impact": "minor"}, title="Slow report")
    at = page_as("pages/incidents.py", "lead1")
    table = at.dataframe[0].value
    assert set(table["ID"]) == {a, b}
    at.multiselect(key="f_severity").select("P0").run()
    assert list(at.dataframe[0].value["ID"]) == [a]
    at.text_input(key="f_text").input("globex").run()
    assert "No incident matches" in texts(at)
    # A ticked row opens its incident in the same tab.
    at = page_as("pages/incidents.py", "lead1")
    row = list(at.dataframe(key="incident_list_table").value["ID"]).index(b)
    tick_row(at, "incident_list_table", row)
    assert not at.exception, at.exception
    assert at.query_params == {"id": str(b)} and "Slow report" in texts(at)


def test_board_has_an_emergency_lane(workspace, app_db):
    open_test_incident(app_db, "Acme Corp", {"business_impact": "stopped"}, title="Total outage")
    open_test_incident(app_db, "Globex", {"business_impact": "minor"}, title="Slow report")
    at = page_as("pages/board.py", "csm1")
    shown = texts(at)
    assert "2 open · 1 in the emergency lane" in shown
    assert "Total outage" in shown and "Slow report" in shown


def test_board_columns_draw_the_most_urgent_and_link_to_the_rest(workspace, app_db, monkeypatch):
    from core.incident import queues

    monkeypatch.setattr(queues, "COLUMN_CARDS", 1)
    monkeypatch.setattr(queues, "LANE_CARDS", 1)
    minor = [open_test_incident(app_db, "Globex", {"business_impact": "minor"}, title=f"Slow report {n}")
             for n in range(3)]
    stopped = [open_test_incident(app_db, "Acme Corp", {"business_impact": "stopped"}, title=f"Outage {n}")
               for n in range(3)]
    at = page_as("pages/board.py", "lead1")
    assert not at.exception, at.exception
    shown = texts(at)
    # Counts stay exact: 3 new P2s though one card is drawn, 3 in the lane though one is a card.
    assert "6 open · 3 in the emergency lane" in shown and "**New** (3)" in [m.value for m in at.markdown]
    cards = [label for target, _, label in page_links(at) if target == "incident"]
    assert len(cards) == 2 and any(" · P2" in c for c in cards) and any(" · P0" in c for c in cards)
    assert links_to(at, "incidents", status="new", severity="P2,P3") == ["2 more"]
    rest = list(at.dataframe(key="board_lane_rest").value["ID"])
    assert len(rest) == 2 and set(rest) < set(stopped)
    tick_row(at, "board_lane_rest", 1)
    assert at.query_params == {"id": str(rest[1])}
    # The link's list shows exactly the column's incidents, whatever filters an earlier visit left.
    listed = app_test("pages/incidents.py", "lead1", query={"status": "new", "severity": "P2,P3"})
    listed.session_state["f_text"] = "outage"
    listed.run()
    assert not listed.exception, listed.exception
    assert sorted(listed.dataframe(key="incident_list_table").value["ID"]) == minor
    assert listed.multiselect(key="f_status").value == ["new"]
    assert listed.multiselect(key="f_severity").value == ["P2", "P3"]
    assert dict(listed.query_params) == {} and listed.text_input(key="f_text").value == ""


def test_a_list_link_ignores_values_it_does_not_know(workspace, app_db):
    open_test_incident(app_db, "Globex", {"business_impact": "minor"}, title="Slow report")
    at = app_test("pages/incidents.py", "lead1", query={"status": "new,bogus", "severity": "P9"}).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="f_status").value == ["new"] and at.multiselect(key="f_severity").value == []
    assert "1 incident match" in texts(at)


def test_the_list_starts_on_the_open_statuses_without_a_link(workspace, app_db):
    at = page_as("pages/incidents.py", "lead1")
    assert set(at.multiselect(key="f_status").value) == {"new", "acknowledged", "mobilized", "mitigated", "reopened"}


def test_overdue_escalations_are_flagged_on_list_board_and_home(workspace, app_db):
    late = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Late", minutes_ago=90)
    open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Fresh", minutes_ago=5)
    at = page_as("pages/incidents.py", "lead1")
    table = at.dataframe[0].value
    assert dict(zip(table["Title"], table["Escalation overdue"], strict=True)) == {"Late": True, "Fresh": False}
    at.selectbox(key="f_urgency").select("escalation_overdue").run()
    assert list(at.dataframe[0].value["ID"]) == [late]
    board = page_as("pages/board.py", "lead1")
    assert "1 with an overdue escalation" in texts(board) and "Escalation overdue" in texts(board)
    home = page_as("pages/home.py", "csm1")
    assert dict(zip(home.dataframe[0].value["Title"], home.dataframe[0].value["Escalation overdue"], strict=True)) == {
        "Late": True, "Fresh": False}


def test_role_picker_lists_the_incident_policy_roles(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, policy="spark")
    at = incident_page("lead1", iid)
    assert not at.exception
    pickers = [(box.key, box.label) for box in at.selectbox if box.key and box.key.startswith("role_")]
    assert pickers == [("role_incident_commander", "Incident commander"), ("role_technical_lead", "Assigned engineer"),
                       ("role_csm", "Customer Success Manager")]


def test_an_incident_whose_policy_times_nothing_opens_and_says_so(workspace, app_db):
    # red-status gives P3 no targets at all: the page once crashed drawing an empty clock table.
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "none"}, policy="red-status")
    at = incident_page("csm1", iid)
    assert not at.exception
    assert "P3" in texts(at) and "No clock runs: policy red-status sets no target for P3." in texts(at)


def test_a_common_word_says_more_than_when_its_count_stops(workspace, app_db, monkeypatch):
    from core.incident import service

    for minutes in (10, 20, 30, 40):
        open_test_incident(app_db, "Acme Corp", {"business_impact": "minor"}, title="Checkout slow",
                           minutes_ago=minutes)
    at = page_as("pages/incidents.py", "lead1")
    at.text_input(key="f_text").input("checkout").run()
    assert "4 incidents match · page 1 of 1" in texts(at)
    # A text search counts up to service.counted_up_to(page, page_size) and one more: here 2, so 3 are counted.
    monkeypatch.setattr(service, "counted_up_to", lambda page, page_size: 2)
    at.run()
    assert "more than 2 incidents match · page 1 of 1 or more" in texts(at), texts(at)
    assert not at.exception, at.exception
