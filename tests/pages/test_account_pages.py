"""Accounts, account and health pages through AppTest, per role; triage started from a warning."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.account import service as account_service
from core.account import signals
from core.account.health import METRIC_LABELS
from core.people.access import Role
from db.engine import session_scope
from db.models import Account, Incident
from tests.literal_text import visible_text
from tests.pages.conftest import app_test, links_to, open_test_incident, page_as, page_links, texts


def page(script: str, username: str, **params: str) -> AppTest:
    return app_test(script, username, timeout=20, query=params).run()


def account(app_db, name: str) -> Account:
    with session_scope(app_db) as s:
        row = s.scalar(select(Account).where(Account.name == name))
        s.expunge(row)
        return row


def reading(app_db, name: str, metric: str, value: float, *, days_ago: float = 1, target: float | None = None) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        account_id = s.scalar(select(Account.id).where(Account.name == name))
        signals.record(s, account_id=account_id, reading=signals.parse_reading(
            {"metric": metric, "observed_at": now - dt.timedelta(days=days_ago), "value": value, "target": target}),
            source="form", editor=account_service.Editor(None, "test", Role.ADMIN), now=now)


def link_texts(at: AppTest) -> str:
    return "\n".join(visible_text(str(m.value)) for m in at.markdown)


# --------------------------------------------------------------------------
# Accounts list and creation.


@pytest.mark.parametrize(
    "role, sees_globex, can_create, can_import",
    [("csm", False, False, False), ("lead", True, True, False), ("admin", True, True, True)],
)
def test_accounts_page_per_role(workspace, role, sees_globex, can_create, can_import):
    at = page_as("pages/accounts.py", f"{role}1")
    assert not at.exception, at.exception
    names = list(at.dataframe[0].value["Name"])
    assert "Acme Corp" in names
    assert ("Globex" in names) is sees_globex
    expanders = [e.label for e in at.expander]
    assert ("New account" in expanders) is can_create
    assert ("Import accounts from CSV" in expanders) is can_import
    assert bool([t for t in at.toggle if t.key == "accounts_archived"]) is can_import


def test_lead_creates_an_account(workspace, app_db):
    at = page_as("pages/accounts.py", "lead1")
    at.text_input(key="new_account_name").input("Initech")
    at.selectbox(key="new_account_tier").select("pro")
    at.number_input(key="new_account_acv").set_value(42000.0)
    at.selectbox(key="new_account_tz").select("America/Chicago")
    at.text_area(key="new_account_response").input("4 business hours")
    at.button[[b.label for b in at.button].index("Create account")].click().run()
    assert not at.exception, at.exception
    assert "Account Initech created." in texts(at)
    created = account(app_db, "Initech")
    assert (created.tier, int(created.annual_contract_value), created.time_zone, created.contract_terms) == (
        "pro", 42000, "America/Chicago", {"response_commitment": "4 business hours", "service_credits": ""})


def test_refused_creation_keeps_the_input(workspace, app_db):
    at = page_as("pages/accounts.py", "lead1")
    at.text_input(key="new_account_name").input("acme corp")
    at.selectbox(key="new_account_tier").select("pro")
    at.text_area(key="new_account_credits").input("5% per breach")
    at.button[[b.label for b in at.button].index("Create account")].click().run()
    assert "an account named 'acme corp' already exists" in texts(at)
    assert at.text_input(key="new_account_name").value == "acme corp"
    assert at.selectbox(key="new_account_tier").value == "pro"
    assert at.text_area(key="new_account_credits").value == "5% per breach"


# --------------------------------------------------------------------------
# The account page.


@pytest.mark.parametrize("role, allowed", [("csm", False), ("lead", True), ("admin", True)])
def test_account_page_of_an_account_the_csm_does_not_own(workspace, app_db, role, allowed):
    at = page("pages/account.py", f"{role}1", id=str(account(app_db, "Globex").id))
    assert not at.exception, at.exception
    assert ("is not one of yours" in texts(at)) is not allowed
    assert ([t.value for t in at.title] == ["Globex"]) is allowed


@pytest.mark.parametrize("role, can_edit, can_archive", [("csm", True, False), ("lead", True, False),
                                                         ("admin", True, True)])
def test_account_page_shows_history_and_edit_rights(workspace, app_db, role, can_edit, can_archive):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major", "csat": 6})
    at = page("pages/account.py", f"{role}1", id=str(account(app_db, "Acme Corp").id))
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Acme Corp"]
    frames = [d.value for d in at.dataframe]
    incidents = next(f for f in frames if "Title" in f.columns)
    assert list(incidents["ID"]) == [iid]
    clocks = next(f for f in frames if "Breached" in f.columns)
    assert "Acknowledge" in list(clocks["Clock"])
    assert "Satisfaction under 7" in texts(at)  # the incident's CSAT answer is a reading
    assert bool([b for b in at.button if b.label == "Save changes"]) is can_edit
    assert bool([b for b in at.button if b.label == "Archive account"]) is can_archive
    owner = at.selectbox(key=f"edit_account_{account(app_db, 'Acme Corp').id}_owner")
    assert owner.disabled is (role == "csm")


def test_csm_edits_own_account_and_a_stale_edit_is_refused(workspace, app_db):
    acme = account(app_db, "Acme Corp")
    prefix = f"edit_account_{acme.id}_"
    at = page("pages/account.py", "csm1", id=str(acme.id))
    # Meanwhile a lead changes the account.
    with session_scope(app_db) as s:
        data = account_service.parse_account(account_service.form_data(s.get(Account, acme.id)) | {"tier": "pro"})
        account_service.update_account(s, account_id=acme.id, data=data, expected_version=acme.version,
                                       editor=account_service.Editor(workspace["lead"], "lead1", Role.LEAD),
                                       now=dt.datetime.now(dt.UTC))
    at.text_area(key=f"{prefix}response").input("30 minutes, 24/7")
    at.button[[b.label for b in at.button].index("Save changes")].click().run()
    assert not at.exception, at.exception
    assert "was changed by someone else" in texts(at)
    assert at.text_area(key=f"{prefix}response").value == "30 minutes, 24/7"  # their input is kept
    assert account(app_db, "Acme Corp").contract_terms.get("response_commitment", "") == ""
    # Saving again applies to the version they have now seen.
    at.button[[b.label for b in at.button].index("Save changes")].click().run()
    assert "Account saved." in texts(at)
    saved = account(app_db, "Acme Corp")
    assert saved.contract_terms["response_commitment"] == "30 minutes, 24/7"


def test_admin_archives_and_the_account_leaves_lists_and_triage(workspace, app_db):
    acme = account(app_db, "Acme Corp")
    at = page("pages/account.py", "admin1", id=str(acme.id))
    at.button[[b.label for b in at.button].index("Archive account")].click().run()
    assert not at.exception, at.exception
    assert account(app_db, "Acme Corp").archived_at is not None
    assert "Archived on" in texts(at)
    names = list(page_as("pages/accounts.py", "lead1").dataframe[0].value["Name"])
    assert "Acme Corp" not in names
    assert "You own no active account yet" in texts(page_as("pages/triage.py", "csm1"))


def test_reading_form_records_and_refuses_out_of_range(workspace, app_db):
    acme = account(app_db, "Acme Corp")
    at = page("pages/account.py", "csm1", id=str(acme.id))
    prefix = f"reading_{acme.id}_"
    at.selectbox(key=f"{prefix}metric").select("csat")
    at.number_input(key=f"{prefix}value").set_value(12.0)
    at.button[[b.label for b in at.button].index("Record reading")].click().run()
    assert "out of range for csat" in texts(at)
    assert at.number_input(key=f"{prefix}value").value == 12.0
    at.number_input(key=f"{prefix}value").set_value(5.5)
    at.button[[b.label for b in at.button].index("Record reading")].click().run()
    assert "reading recorded" in texts(at)
    assert "Latest CSAT (0-10) is 5.5" in texts(at)


def test_account_page_without_id_points_to_the_lists(workspace):
    at = page_as("pages/account.py", "csm1")
    assert "Open an account from the Accounts page or the Account health page." in texts(at)
    assert [(target, label) for target, _, label in page_links(at)] == [("accounts", "Accounts"),
                                                                        ("health", "Account health")]


# --------------------------------------------------------------------------
# The health page and the triage it starts.


@pytest.mark.parametrize("role, sees_globex, can_import", [("csm", False, False), ("lead", True, False),
                                                           ("admin", True, True)])
def test_health_page_ranks_accounts_with_reasons(workspace, app_db, role, sees_globex, can_import):
    reading(app_db, "Acme Corp", "csat", 6.0)
    for days, value in ((3, 1.0), (2, 2.0), (1, 3.0), (0.01, 4.0)):
        reading(app_db, "Globex", "error_rate", value, days_ago=days)
    reading(app_db, "Globex", "uptime_pct", 90.0)
    at = page_as("pages/health.py", f"{role}1")
    assert not at.exception, at.exception
    shown = link_texts(at)
    acme, globex = account(app_db, "Acme Corp"), account(app_db, "Globex")
    assert "Latest CSAT (0-10) is 6 (rule: under 7/10)" in shown
    assert links_to(at, "triage", account=acme.id, warning="low-csat") == ["Start triage"]
    assert bool(links_to(at, "triage", account=globex.id, warning="rising-errors")) is sees_globex
    if sees_globex:  # Globex has two warnings (P0/P1 + P1 = 5 points) and ranks first
        assert [label for target, _, label in page_links(at) if target == "account"] == ["Globex", "Acme Corp"]
        assert "Risk score 5" in texts(at)
        # One chart per account, a sparkline per metric that warns: Globex error rate and uptime, Acme CSAT.
        charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
        assert [sorted(row["title"]["text"] for row in chart["vconcat"]) for chart in charts] == [
            sorted([METRIC_LABELS["error_rate"], METRIC_LABELS["uptime_pct"]]), [METRIC_LABELS["csat"]]]
    assert ("Import health signals from CSV" in [e.label for e in at.expander]) is can_import


def test_health_page_when_nothing_fires(workspace, app_db):
    reading(app_db, "Acme Corp", "csat", 9.0)
    at = page_as("pages/health.py", "csm1")
    assert "No account shows an early-warning signal." in texts(at)


def test_start_triage_from_a_warning_prefills_account_and_answers(workspace, app_db):
    reading(app_db, "Acme Corp", "key_metric", 60.0, target=100.0)
    acme = account(app_db, "Acme Corp")
    at = page("pages/triage.py", "csm1", account=str(acme.id), warning="metric-shortfall")
    assert not at.exception, at.exception
    assert at.selectbox(key="triage_account").value.id == acme.id
    assert at.number_input(key="answer_metric_shortfall_pct").value == 40.0
    assert at.text_input(key="triage_title").value == "Early warning: A metric more than 20% under target"
    assert "Filled in: metric_shortfall_pct = 40" in texts(at)
    # The answer drives the classification: the default policy makes a red-status metric P1.
    assert "P1" in texts(at)
    # Later reruns keep what the person changed (the link stays in the URL but is applied once).
    at.number_input(key="answer_metric_shortfall_pct").set_value(10.0).run()
    at.text_input(key="triage_title").input("Shortfall on checkout conversions").run()
    assert at.number_input(key="answer_metric_shortfall_pct").value == 10.0
    assert at.text_input(key="triage_title").value == "Shortfall on checkout conversions"


def test_triage_link_for_a_warning_that_no_longer_fires(workspace, app_db):
    reading(app_db, "Acme Corp", "csat", 9.0)
    acme = account(app_db, "Acme Corp")
    at = page("pages/triage.py", "csm1", account=str(acme.id), warning="low-csat")
    assert at.selectbox(key="triage_account").value.id == acme.id
    assert "does not fire for it any more" in texts(at)
    assert at.number_input(key="answer_csat").value is None


def test_triage_link_to_someone_elses_account_is_refused(workspace, app_db):
    at = page("pages/triage.py", "csm1", account=str(account(app_db, "Globex").id), warning="low-csat")
    assert "is not one you can open incidents on" in texts(at)


def test_opening_the_incident_does_not_prefill_the_next_triage_again(workspace, app_db):
    reading(app_db, "Acme Corp", "csat", 6.0)
    acme = account(app_db, "Acme Corp")
    at = page("pages/triage.py", "csm1", account=str(acme.id), warning="low-csat")
    assert at.number_input(key="answer_csat").value == 6.0
    at.button(key="triage_open").click().run()
    assert not at.exception, at.exception
    assert "opened as P1" in texts(at)
    with session_scope(app_db) as s:
        incident = s.scalar(select(Incident))
        assert (incident.account_id, incident.answers.get("csat"), incident.title) == (
            acme.id, 6.0, "Early warning: Satisfaction under 7 out of 10")
    # Opening lands on the incident; the triage form it leaves behind is empty.
    assert f"#{incident.id} · Early warning: Satisfaction under 7 out of 10" in texts(at)
    assert not [k for k in ("triage_title", "triage_account", "triage_token", "answer_csat", "answer_security_breach")
                if k in at.session_state]


def test_csv_import_lists_bad_lines_and_warns_about_formulas(workspace, app_db):
    at = page_as("pages/accounts.py", "admin1")
    hostile = ("name,tier,annual_contract_value\n=HYPERLINK(\"http://x.example\"),pro,1\nInitech,pro,"
               + "9" * 140_000 + "\nUm\x00brella,pro,1\n").encode()
    at.file_uploader(key="import_accounts_file").set_value(("hostile.csv", hostile, "text/csv")).run()
    assert not at.exception
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    shown = texts(at)
    assert "2 row(s) need fixing; nothing will be imported" in shown
    assert "1 value(s) start like a spreadsheet formula" in shown
    assert list(tables[("Line", "Problem")]["Line"]) == [3, 4]
    assert list(tables[("Line", "Warning")]["Line"]) == [2]
    assert "import_accounts_go" not in [b.key for b in at.button]
    with session_scope(app_db) as s:
        assert s.scalar(select(Account).where(Account.name == "Initech")) is None


def test_health_page_draws_the_at_risk_accounts_a_page_at_a_time(workspace, app_db, monkeypatch):
    # Each account brings its sparklines: hundreds on one page took seconds, so the list is paged.
    monkeypatch.setattr("ui.account_risk.PAGE_SIZE", 1)
    reading(app_db, "Acme Corp", "csat", 6.0)
    reading(app_db, "Globex", "uptime_pct", 90.0)
    reading(app_db, "Globex", "csat", 5.0)
    at = page_as("pages/health.py", "lead1")
    assert not at.exception, at.exception
    assert [label for target, _, label in page_links(at) if target == "account"] == ["Globex"]
    picker = at.selectbox(key="risk_page")
    assert picker.label == "2 accounts at risk, 1 a page" and picker.options == ["Page 1 of 2", "Page 2 of 2"]
    picker.set_value(2).run()
    assert [label for target, _, label in page_links(at) if target == "account"] == ["Acme Corp"]
