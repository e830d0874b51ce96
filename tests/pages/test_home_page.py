"""Home per role: the open-incident sections stay, and the at-risk accounts section shows mine or the team's."""

from __future__ import annotations

import pytest

from tests.pages.conftest import links_to, open_test_incident, page_as, texts
from tests.pages.test_account_pages import account, link_texts, reading


@pytest.mark.parametrize(
    "role, heading, incidents_heading, sees_globex",
    [("csm", "My at-risk accounts", "My open incidents", False),
     ("lead", "At-risk accounts across the team", "Team's open incidents, most urgent first", True),
     ("admin", "At-risk accounts across the team", "Team's open incidents, most urgent first", True)],
)
def test_home_lists_at_risk_accounts_per_role(workspace, app_db, role, heading, incidents_heading, sees_globex):
    reading(app_db, "Acme Corp", "uptime_pct", 93.0)
    reading(app_db, "Globex", "csat", 5.0)
    at = page_as("pages/home.py", f"{role}1")
    assert not at.exception, at.exception
    subheaders = [s.value for s in at.subheader]
    assert incidents_heading in subheaders and heading in subheaders
    shown = link_texts(at)
    acme, globex = account(app_db, "Acme Corp"), account(app_db, "Globex")
    assert "Latest Uptime (%) is 93 (rule: under 95%)" in shown
    assert links_to(at, "triage", account=acme.id, warning="low-uptime") == ["Start triage"]
    assert links_to(at, "account", id=acme.id) == ["Acme Corp"]
    assert (links_to(at, "account", id=globex.id) == ["Globex"]) is sees_globex
    assert links_to(at, "health") == ["All account health"]


def test_home_without_warnings_says_so_and_keeps_my_incidents(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = page_as("pages/home.py", "csm1")
    assert not at.exception, at.exception
    assert "No account shows an early-warning signal." in texts(at)
    assert iid in list(at.dataframe[0].value["ID"])


@pytest.mark.parametrize("role, sees_globex_incident", [("csm", False), ("lead", True), ("admin", True)])
def test_home_lists_the_team_s_open_incidents_for_leads(workspace, app_db, role, sees_globex_incident):
    open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})  # csm1's account
    open_test_incident(app_db, "Globex", {"business_impact": "major"})  # nobody's: only the team view has it
    at = page_as("pages/home.py", f"{role}1")
    assert not at.exception, at.exception
    accounts = " ".join(str(v) for v in at.dataframe[0].value["Account"])
    assert "Acme Corp" in accounts or role != "csm"
    assert ("Globex" in accounts) is sees_globex_incident
