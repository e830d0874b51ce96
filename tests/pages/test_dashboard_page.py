"""SLA dashboard page (AppTest): every role opens it, a CSM sees only their accounts, filters work,
breach rows link to their incident, and the policy backtest replays or explains what to fix.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.pages.conftest import ROLES, open_test_incident, page_as, texts, tick_row

PAGE = "pages/dashboard.py"
OUTAGE = {"business_impact": "stopped", "complete_outage": True, "outage_minutes": 90}
MINOR = {"business_impact": "minor", "workaround": "easy"}


@pytest.fixture
def incidents(workspace, app_db):
    """Two late incidents on Acme (owned by csm1) and one on Globex (owned by nobody)."""
    ids = {
        "acme_outage": open_test_incident(app_db, "Acme Corp", OUTAGE, title="Acme outage", policy="red-status",
                                          minutes_ago=180),
        "acme_minor": open_test_incident(app_db, "Acme Corp", MINOR, title="Acme minor", policy="default",
                                         minutes_ago=60),
        "globex_outage": open_test_incident(app_db, "Globex", OUTAGE, title="Globex outage", policy="red-status",
                                            minutes_ago=240),
    }
    return ids


def metric(at, label: str) -> str:
    """The value of the metric tile with this label."""
    return next(m.value for m in at.metric if m.label == label)


def breach_ids(at) -> set[int]:
    """The incidents in the table of most recent breaches (each row opens its incident)."""
    return {int(i) for frame in at.dataframe if frame.key == "table_breaches" for i in frame.value["ID"]}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_dashboard(role, incidents):
    at = page_as(PAGE, f"{role}1")
    assert not at.exception
    assert "SLA dashboard" in texts(at)
    assert at.get("vega_lite_chart"), "charts are drawn"
    expected = "2" if role == "csm" else "3"
    assert metric(at, "Incidents") == expected


def test_csm_sees_only_their_own_accounts(incidents):
    at = page_as(PAGE, "csm1")
    assert "You see the accounts you own" in texts(at)
    assert [label for label in at.selectbox(key="d_account").options] == ["all", "Acme Corp (enterprise)"]
    shown = breach_ids(at)
    assert incidents["globex_outage"] not in shown
    assert incidents["acme_outage"] in shown
    assert not [s for s in at.selectbox if s.key == "d_csm"], "a CSM has no CSM filter"


def test_lead_sees_every_breach_with_a_link_to_its_incident(incidents):
    at = page_as(PAGE, "lead1")
    assert {incidents["acme_outage"], incidents["globex_outage"]} <= breach_ids(at)
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert any("Attainment by clock" in json.dumps(spec) for spec in specs)
    breaches = next(f.value for f in at.dataframe if f.key == "table_breaches")
    tick_row(at, "table_breaches", len(breaches) - 1)
    assert not at.exception, at.exception
    assert at.query_params == {"id": str(breaches["ID"].iloc[-1])}, "the ticked breach's incident opens in this tab"


@pytest.mark.parametrize("role, filters, expected", [
    ("lead", {"d_severity": ["P0"]}, "2"),
    ("lead", {"d_policy": ["default"]}, "1"),
    ("lead", {"d_tier": ["basic"]}, "1"),
    ("admin", {"d_severity": ["P3"]}, "0"),
    ("csm", {"d_policy": ["red-status"]}, "1"),
])
def test_filters_narrow_the_figures(role, filters, expected, incidents):
    at = page_as(PAGE, f"{role}1")
    for key, value in filters.items():
        at.multiselect(key=key).set_value(value)
    at.run()
    assert not at.exception
    assert metric(at, "Incidents") == expected


def test_account_filter_reads_one_customer(incidents):
    at = page_as(PAGE, "admin1")
    box = at.selectbox(key="d_account")
    box.select_index(next(i for i, label in enumerate(box.options) if label.startswith("Globex")))
    at.run()
    assert metric(at, "Incidents") == "1"
    assert incidents["acme_outage"] not in breach_ids(at)


def test_date_range_outside_the_incidents_shows_nothing(incidents):
    at = page_as(PAGE, "lead1")
    today = dt.date.today()
    at.date_input(key="d_dates").set_value((today - dt.timedelta(weeks=30), today - dt.timedelta(weeks=20)))
    at.run()
    assert metric(at, "Incidents") == "0"
    assert "No SLA clock in this range" in texts(at)


def test_half_chosen_date_range_asks_for_the_end(incidents):
    at = page_as(PAGE, "lead1")
    at.date_input(key="d_dates").set_value((dt.date.today(),))
    at.run()
    assert "Pick the last day of the range" in texts(at)


def test_objectives_show_pass_or_fail(incidents):
    at = page_as(PAGE, "lead1")
    frames = [f.value for f in at.dataframe if "Result" in f.value.columns]
    assert frames, "the objectives table is shown"
    outages = frames[0][frames[0]["Objective"] == "System outages resolved within 2 hours"]
    # Both outages are open and already past 2 hours: 0 % against a 99 % objective.
    assert list(outages["Result"]) == ["fail"] and list(outages["Actual"]) == [0.0]


@pytest.mark.parametrize("role", ROLES)
def test_backtest_replays_a_preset(role, incidents):
    at = page_as(PAGE, f"{role}1")
    at.selectbox(key="bt_policy").set_value("spark")
    at.button[[b.label for b in at.button].index("Replay")].click()
    at.run()
    assert not at.exception
    used = "2 of 2" if role == "csm" else "3 of 3"
    assert f"Replayed **{used} incidents" in "\n".join(m.value for m in at.markdown)


def test_backtest_draft_errors_say_what_to_fix_and_keep_the_text(incidents):
    at = page_as(PAGE, "lead1")
    at.selectbox(key="bt_policy").set_value("A draft (paste YAML)")
    at.text_area(key="bt_draft").set_value("name: Not A Slug\n")
    at.button[[b.label for b in at.button].index("Replay")].click()
    at.run()
    assert "The policy cannot be replayed" in texts(at)
    assert at.text_area(key="bt_draft").value == "name: Not A Slug\n"


def test_anonymous_visitor_gets_the_sign_in_form(workspace):
    at = page_as(PAGE, None)
    assert "SLA dashboard" not in [t.value for t in at.title]
    assert not at.get("vega_lite_chart")


def test_dashboard_csv_downloads_are_neutralised():
    import pandas as pd

    from ui.dashboard_charts import csv_file

    frame = pd.DataFrame({"Customer": ["=HYPERLINK(\"x\")", "Acme"], "Delta": [-3, 4], "Share": [0.5, None]})
    assert csv_file(frame).decode("utf-8").splitlines() == [
        "Customer,Delta,Share", "\"'=HYPERLINK(\"\"x\"\")\",-3,0.5", "Acme,4,"]


def test_attainment_shows_a_late_level_response_as_a_breached_row(workspace, app_db):
    # growth-engine Response Time Matrix, P1: Level 2 responds within 30 minutes of the escalation.
    from core.incident import flows
    from core.people.users import SYSTEM
    from db.engine import session_scope
    from db.models import Incident

    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Late L2", minutes_ago=90)
    with session_scope(app_db) as s:
        detected = s.get(Incident, iid).detected_at
        detected = detected if detected.tzinfo else detected.replace(tzinfo=dt.UTC)
        flows.escalate(s, incident_id=iid, to_level="L2", reason="needs them", actor=SYSTEM,
                       now=dt.datetime.now(dt.UTC), at=detected + dt.timedelta(minutes=5))
    with session_scope(app_db) as s:
        flows.record_level_response(s, incident_id=iid, level="L2", actor=SYSTEM, now=dt.datetime.now(dt.UTC),
                                    at=detected + dt.timedelta(minutes=50), reason="they called back then")
    at = page_as(PAGE, "lead1")
    assert not at.exception
    frame = next(f.value for f in at.dataframe if {"Clock", "Severity", "Breached"} <= set(f.value.columns))
    row = frame[(frame["Clock"] == "L2 responds") & (frame["Severity"] == "P1")]
    assert (list(row["Met"]), list(row["Breached"]), list(row["Attainment %"])) == ([0], [1], [0.0])
    breaches = next(f.value for f in at.dataframe if f.key == "table_breaches")
    assert "L2 responds" in set(breaches[breaches["ID"] == iid]["Clock"])


def _outage(app_db, incident_ids: list[int]) -> int:
    from core.outage import flows as outages
    from core.people.users import SYSTEM
    from db.engine import session_scope
    from ui.auth import utcnow

    now = utcnow()
    with session_scope(app_db) as s:
        return outages.open_outage(s, title="Payments API returning errors", client_impact="", summary="",
                                   severity="P0", started_at=now, actor=SYSTEM, now=now,
                                   incident_ids=incident_ids).id


@pytest.mark.parametrize("role, expected", [
    # admin: the outage (Acme and Globex) once, plus Acme's minor incident; three incidents keep their clocks.
    ("admin", {"Open emergencies now": "2", "Platform outages open": "1", "Accounts affected by them": "2",
               "Incidents": "3"}),
    # csm1 owns Acme only: its outage incident and its minor one.
    ("csm", {"Open emergencies now": "2", "Platform outages open": "1", "Accounts affected by them": "1",
             "Incidents": "2"}),
])
def test_an_outage_counts_once_among_open_emergencies(incidents, app_db, role, expected):
    _outage(app_db, [incidents["acme_outage"], incidents["globex_outage"]])
    at = page_as(PAGE, f"{role}1")
    assert not at.exception
    assert {label: metric(at, label) for label in expected} == expected
