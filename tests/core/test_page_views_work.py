"""The page read models (core.*.views): what each page is given, and who may change what, on a small dataset."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.communication import views as comm_views
from core.communication.context import format_time
from core.communication.errors import CommunicationError
from core.incident import flows as incidents
from core.incident import views as incident_views
from core.incident.service import IncidentFilter
from core.people.access import Role
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.report import views as report_views
from core.report.lifecycle import ReportKind
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account
from tests.conftest import NOW, make_user


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    role: Role


@pytest.fixture
def world(app_db):
    """Two CSMs and a lead; Acme owned by csm1 with one open P-something incident on the spark policy."""
    ids = {name: make_user(app_db, name, role) for name, role in
           (("csm1", "csm"), ("csm2", "csm"), ("lead1", "lead"))}
    with session_scope(app_db) as s:
        policy_store.install_presets(s, now=NOW)
        s.add(Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                      owner_id=ids["csm1"], time_zone="Europe/Paris"))
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        opened = incidents.open_incident(
            s, account_id=account.id, title="Checkout down", summary="Customers cannot pay.",
            answers=Answers.model_validate({"business_impact": "major"}), policy_name="spark", actor=SYSTEM,
            now=NOW, detected_at=NOW - dt.timedelta(minutes=30))
    people = {name: Person(uid, name, Role(role)) for (name, role), uid in
              zip((("csm1", "csm"), ("csm2", "csm"), ("lead1", "lead")), ids.values(), strict=True)}
    return people, opened.id


@pytest.mark.parametrize("who, editable", [("csm1", True), ("csm2", False), ("lead1", True)])
def test_incident_page_decides_who_may_change_it(world, who, editable):
    people, incident_id = world
    page = comm_views.incident_page(incident_id, viewer=people[who], now=NOW)
    assert page is not None and page.view.id == incident_id
    assert page.editable is editable
    assert page.messages == [] and len(page.people) == 3


def test_incident_page_of_a_missing_incident_is_none(world):
    people, _ = world
    assert comm_views.incident_page(999_999, viewer=people["lead1"], now=NOW) is None


def test_incidents_page_finds_the_open_incident_and_pages_back_to_one(world):
    _, incident_id = world
    found = incident_views.incidents_page(IncidentFilter(policy="spark"), now=NOW, page=1, page_size=50)
    assert [r.id for r in found.rows] == [incident_id] and found.total == 1 and found.pages == 1
    assert incident_id in found.update_due
    beyond = incident_views.incidents_page(IncidentFilter(), now=NOW, page=7, page_size=50)
    assert beyond.page == 1


def test_policies_page_and_policy_use(world):
    _, incident_id = world
    listing = incident_views.policies_page()
    assert listing.default in listing.names and listing.row("spark").open_incidents == 1
    use = incident_views.policy_use("spark", now=NOW)
    assert [r.id for r in use.open_incidents] == [incident_id] and use.open_count == 1


@pytest.mark.parametrize("who, accounts", [("csm1", ["Acme Corp"]), ("csm2", []), ("lead1", ["Acme Corp"])])
def test_triage_page_offers_the_accounts_the_viewer_works_on(world, who, accounts):
    people, _ = world
    offer = incident_views.triage_page(people[who])
    assert [a.name for a in offer.accounts] == accounts
    assert offer.default_policy in offer.policies
    policy, version = incident_views.triage_policy("spark")
    assert policy.name == "spark" and version == 1


@pytest.mark.parametrize("who, may_write", [("csm1", True), ("csm2", False), ("lead1", True)])
def test_compose_page_decides_who_may_write(world, who, may_write):
    people, incident_id = world
    page = comm_views.compose_page(incident_id, viewer=people[who], now=NOW)
    assert page is not None and page.may_write is may_write and page.smtp is None
    assert page.source.suggested_template in page.fields
    assert (incident_id in comm_views.compose_choices(people[who])) is may_write


def test_template_and_smtp_pages_start_from_the_shipped_files(world):
    assert comm_views.template_page("status_update").current.version is None
    assert comm_views.template_page("status_update").history == []
    assert comm_views.smtp_page() == (None, 0)


def test_report_page_of_an_unresolved_incident_says_why(world):
    people, incident_id = world
    page = report_views.document_page(incident_id, ReportKind.REPORT, viewer=people["lead1"], now=NOW,
                                       time_zone="UTC")
    assert page.view is None and page.problem
    assert report_views.earlier_postmortems(incident_id) == []
    assert report_views.overdue_actions(owner_id=None, now=NOW) == []


@pytest.mark.parametrize("offset, exists", [(0, True), (1, False), (-10_000, False)])
def test_incident_exists_answers_the_go_to_box(world, offset, exists):
    _, incident_id = world
    assert incident_views.incident_exists(incident_id + offset) is exists


@pytest.mark.parametrize("minutes_later", [0, 50])
def test_the_eml_is_rendered_when_asked_with_a_promise_never_in_the_past(world, app_db, minutes_later):
    # SPARK P0, 40 minutes in, nothing sent: the plan's next entry after this message (30 min) is already past,
    # so the file promises 15 minutes after the moment it is built, whenever that is.
    people, _ = world
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        late = incidents.open_incident(
            s, account_id=account.id, title="Exports down", summary="CEO on the phone, furious",
            answers=Answers.model_validate({"business_impact": "stopped"}), policy_name="spark", actor=SYSTEM,
            now=NOW, detected_at=NOW - dt.timedelta(minutes=40)).id
    clicked = NOW + dt.timedelta(minutes=minutes_later)
    raw = comm_views.eml_at(late, key="emergency_acknowledgement", edits={"impact": "Exports fail."},
                            viewer=people["csm1"], sender="desk@example.com", to=["ana@acme.example"], now=clicked)
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    promised = format_time(clicked + dt.timedelta(minutes=15), ZoneInfo("Europe/Paris"))
    assert f"- Next update: by {promised}, even if there is no news." in text
    assert "furious" not in text
    with pytest.raises(CommunicationError, match="cannot be written about"):
        comm_views.eml_at(late, key="emergency_acknowledgement", edits={}, viewer=people["csm2"],
                          sender="desk@example.com", to=["ana@acme.example"], now=clicked)
