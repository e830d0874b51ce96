"""Moving around the app keeps one tab: page links from the registry, rows that open their incident, the sidebar's
"go to incident" box, and pages that need `?id=` reachable though not listed.

Streamlit opens Markdown links and LinkColumn cells in a new tab; the static
check at the end keeps them from coming back into pages/ and ui/.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Incident
from tests.pages.conftest import REPO, app_test, links_to, open_test_incident, page_as, page_links, texts, tick_row
from ui.navigation import PAGES

P1 = {"business_impact": "stopped"}


def test_board_cards_link_to_their_incident(workspace, app_db):
    first = open_test_incident(app_db, "Acme Corp", P1, title="Total outage")
    second = open_test_incident(app_db, "Globex", {"business_impact": "minor"}, title="Slow report")
    at = page_as("pages/board.py", "lead1")
    assert not at.exception, at.exception
    cards = {label: params for target, params, label in page_links(at) if target == "incident"}
    assert cards == {f"#{first} · P0": {"id": str(first)}, f"#{second} · P2": {"id": str(second)}}


@pytest.mark.parametrize("username, table", [("csm1", "home_incidents"), ("lead1", "home_incidents"),
                                             ("lead1", "home_updates_due")])
def test_home_rows_open_their_incident_in_this_tab(workspace, app_db, username, table):
    iid = open_test_incident(app_db, "Acme Corp", P1, title="Total outage", policy="red-status", minutes_ago=45)
    at = page_as("pages/home.py", username)
    assert not at.exception, at.exception
    assert list(at.dataframe(key=table).value["ID"]) == [iid]
    assert "Tick a row's box to" in texts(at)
    tick_row(at, table)
    assert not at.exception, at.exception
    assert at.query_params == {"id": str(iid)}
    # The incident page, or the composer for the update that is due: both show the incident's title.
    assert "Total outage" in texts(at)
    if table == "home_updates_due":
        assert "Write to the client" in [t.value for t in at.title]


def test_incident_list_rows_open_their_incident(workspace, app_db):
    ids = [open_test_incident(app_db, "Acme Corp", P1, title=f"Outage {n}") for n in range(3)]
    at = page_as("pages/incidents.py", "csm1")
    listed = list(at.dataframe(key="incident_list_table").value["ID"])
    assert sorted(listed) == ids
    tick_row(at, "incident_list_table", listed.index(ids[1]))
    assert at.query_params == {"id": str(ids[1])} and "Outage 1" in texts(at)


def test_home_links_to_the_whole_list_when_it_shows_only_the_most_urgent(workspace, app_db, monkeypatch):
    from core.incident import queues

    monkeypatch.setattr(queues, "HOME_TEAM_LIMIT", 1)
    for n in range(2):
        open_test_incident(app_db, "Acme Corp", P1, title=f"Outage {n}")
    at = page_as("pages/home.py", "lead1")
    assert "The 1 most urgent of 2 open." in texts(at)
    assert links_to(at, "incidents") == ["All 2 open incidents"]


def test_opening_an_incident_from_triage_lands_on_it_in_this_tab(workspace, app_db):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("Orders not syncing").run()
    at.button(key="triage_open").click().run()
    assert not at.exception
    with session_scope(app_db) as s:
        iid = s.scalar(select(Incident.id))
    assert at.query_params == {"id": str(iid)} and f"#{iid} · Orders not syncing" in texts(at)


# --------------------------------------------------------------------------
# The sidebar's "go to incident" box.


def go_to_incident(at, number: int):
    at.sidebar.number_input(key="go_to_incident_number").set_value(number)
    return at.sidebar.button[[b.label for b in at.sidebar.button].index("Go")].click().run()


@pytest.mark.parametrize("start", ["pages/home.py", "pages/board.py", "pages/policies.py"])
def test_go_to_box_opens_an_existing_incident(workspace, app_db, start):
    iid = open_test_incident(app_db, "Acme Corp", P1, title="Total outage")
    at = go_to_incident(page_as(start, "admin1"), iid)
    assert not at.exception, at.exception
    assert at.query_params == {"id": str(iid)} and "Total outage" in texts(at)


def test_go_to_box_says_when_there_is_no_such_incident(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", P1)
    at = go_to_incident(page_as("pages/board.py", "csm1"), iid + 1000)
    assert [e.value for e in at.sidebar.error] == [f"There is no incident #{iid + 1000}."]
    assert at.query_params == {} and [t.value for t in at.title] == ["Emergency board"], "stays where it was"


def test_go_to_box_is_there_on_a_page_the_role_may_not_open_too(workspace):
    at = page_as("pages/policies.py", "csm1")
    assert "cannot open Policies" in texts(at)
    assert [n.label for n in at.sidebar.number_input] == ["Go to incident #"]


# --------------------------------------------------------------------------
# Pages that need `?id=`: not in the sidebar (tests/pages/test_access.py), reached through the router.


@pytest.mark.parametrize("key", [p.key for p in PAGES if p.needs_id])
def test_id_only_pages_open_through_the_router(workspace, app_db, key):
    from tests.pages.test_account_pages import account
    from tests.pages.test_report_pages import resolved_incident

    iid = resolved_incident(app_db, title="Total outage")
    record = account(app_db, "Acme Corp").id if key == "account" else iid
    at = app_test(f"pages/{key}.py", "admin1", query={"id": str(record)}).run()
    assert not at.exception, at.exception
    assert "cannot open" not in texts(at)
    assert ("Acme Corp" if key == "account" else "Total outage") in texts(at)


def test_id_only_pages_without_an_id_link_to_the_way_in(workspace):
    for script, ways_in in (("pages/account.py", ["accounts", "health"]), ("pages/report.py", ["incidents"]),
                            ("pages/postmortem.py", ["incidents"])):
        at = page_as(script, "csm1")
        assert [target for target, _, _ in page_links(at)] == ways_in, script


# --------------------------------------------------------------------------
# No link that opens a new tab comes back into pages/ or ui/.

KEYS = "|".join(re.escape(p.key) for p in PAGES)
NEW_TAB = {
    "Markdown link to an app address": re.compile(r"\]\(/"),
    "LinkColumn (opens a new tab)": re.compile(r"LinkColumn"),
    "target _blank": re.compile(r"_blank"),
    "app address written by hand": re.compile(rf"""["'(]/(?:{KEYS})\b"""),
}


@pytest.mark.parametrize("line, caught", [
    ('st.markdown(f"[Open](/incident?id={i})")', {"Markdown link to an app address", "app address written by hand"}),
    ('st.markdown("[Go to my open incidents](/)")', {"Markdown link to an app address"}),
    ('"Open": st.column_config.LinkColumn("Open")', {"LinkColumn (opens a new tab)"}),
    ("<a href='/board' target='_blank'>", {"target _blank", "app address written by hand"}),
    ('return f"/triage?account={a}&warning={r}"', {"app address written by hand"}),
    ('link=external_link("incident", id=view.record.id)', set()),  # leaves the app: into a calendar file
    ('page_link("incident", "Back to the incident", query={"id": i})', set()),
])
def test_the_new_tab_patterns_catch_what_they_should(line, caught):
    assert {name for name, pattern in NEW_TAB.items() if pattern.search(line)} == caught


def test_pages_and_ui_have_no_link_that_opens_a_new_tab():
    sources = sorted(p for folder in ("pages", "ui") for p in (REPO / folder).rglob("*.py"))
    assert len(sources) > 40
    found = [f"{path.relative_to(REPO)}:{number}: {name}: {line.strip()}"
             for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             for name, pattern in NEW_TAB.items() if pattern.search(line)]
    assert found == [], "use ui.links (st.page_link / st.switch_page) for in-app links:\n" + "\n".join(found)
