"""The page read models (core.account.views, core.people.views, core.sla.views, core.incident.queues) on a
small dataset, SQLite and PostgreSQL: what each viewer is shown, as plain values, and that reading writes nothing.

Tables of (viewer, expected) cases; the pages' AppTests check the rendering, these check the data and the
permission rule without Streamlit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from core.account.service import Editor
from core.account.views import account_page, accounts_page, health_page
from core.incident import flows as incidents
from core.incident.queues import DUE_SOON, board_page, home_page
from core.people.access import Role
from core.people.users import Actor
from core.people.views import users_page
from core.policy import store as policy_store
from core.sla.views import dashboard_choices
from core.triage.rules import Answers
from core.vocabulary import EMERGENCY_SEVERITIES
from db.engine import session_scope
from db.models import Account
from tests.conftest import NOW, make_user

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(engine):
    """csm1 owns Acme (one P1 incident, detected at NOW); csm2 owns nothing; Globex has no owner and a P3."""
    ids = {role: make_user(engine, f"{role}1", role) for role in ("csm", "lead", "admin")}
    ids["csm2"] = make_user(engine, "csm2", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        acme = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                       owner_id=ids["csm"], time_zone="Europe/Paris")
        globex = Account(name="Globex", tier="basic", annual_contract_value=Decimal(3000))
        s.add_all([acme, globex])
        s.flush()
        actor = Actor(ids["lead"], "lead1")
        urgent = incidents.open_incident(s, account_id=acme.id, title="Checkout down", summary="Payments fail.",
                                         answers=Answers(business_impact="major"), policy_name="red-status",
                                         actor=actor, now=NOW, detected_at=NOW).id
        minor = incidents.open_incident(s, account_id=globex.id, title="Typo on invoice", summary="",
                                        answers=Answers(business_impact="none"), policy_name="default",
                                        actor=actor, now=NOW, detected_at=NOW).id
        account_ids = {"acme": acme.id, "globex": globex.id}
    return SimpleNamespace(engine=engine, users=ids, accounts=account_ids, urgent=urgent, minor=minor)


def viewer(world, who: str) -> Editor:
    role = Role.CSM if who.startswith("csm") else Role(who)
    return Editor(world.users[who], who, role)


@pytest.mark.parametrize("who, names", [
    ("csm", ["Acme Corp"]), ("csm2", []), ("lead", ["Acme Corp", "Globex"]), ("admin", ["Acme Corp", "Globex"]),
])
def test_accounts_page_lists_what_the_viewer_may_see(world, who, names):
    page = accounts_page(viewer=viewer(world, who), engine=world.engine)
    assert [a.name for a in page.rows] == names
    assert {name for _, name in page.owners} >= {"Csm1", "Lead1", "Admin1"}


@pytest.mark.parametrize("who, account, shown", [
    ("csm", "acme", True), ("csm2", "acme", False), ("csm", "globex", False), ("lead", "globex", True),
    ("admin", "acme", True),
])
def test_account_page_is_none_for_someone_who_may_not_see_it(world, who, account, shown):
    page = account_page(world.accounts[account], viewer=viewer(world, who), now=NOW + HOUR, engine=world.engine)
    assert (page is not None) is shown
    if page is not None:
        assert page.view.id == world.accounts[account] and page.view.incident_total == 1
        assert page.report.policy_name and page.owners


def test_account_page_of_a_missing_account_is_none(world):
    assert account_page(999_999, viewer=viewer(world, "admin"), now=NOW, engine=world.engine) is None


@pytest.mark.parametrize("who, visible", [("csm", {"acme"}), ("csm2", set()), ("lead", {"acme", "globex"})])
def test_health_page_covers_the_visible_accounts(world, who, visible):
    page = health_page(viewer=viewer(world, who), now=NOW + HOUR, engine=world.engine)
    assert set(page.accounts) == {world.accounts[a] for a in visible}
    assert page.at_risk == len([r for r in page.report.ranked if r.account_id in page.accounts])


@pytest.mark.parametrize("role, allowed", [(Role.ADMIN, True), (Role.LEAD, False), (Role.CSM, False)])
def test_users_page_is_for_admins_only(world, role, allowed):
    if not allowed:
        with pytest.raises(PermissionError):
            users_page(viewer=role, engine=world.engine)
        return
    page = users_page(viewer=role, engine=world.engine)
    assert [p.username for p in page.people] == ["admin1", "csm1", "csm2", "lead1"]
    assert page.get("csm1").role == "csm" and page.get("nobody") is None


@pytest.mark.parametrize("who, role, accounts", [
    ("csm", Role.CSM, ["Acme Corp"]), ("csm2", Role.CSM, []), ("lead", Role.LEAD, ["Acme Corp", "Globex"]),
])
def test_dashboard_choices_offer_a_csm_only_their_accounts(world, who, role, accounts):
    choices = dashboard_choices(viewer_id=world.users[who], role=role, engine=world.engine)
    assert [a.name for a in choices.accounts] == accounts
    assert choices.people == {world.users["csm"]: "Csm1"}  # people who own accounts
    assert "red-status" in choices.policies and choices.policies["red-status"].strip()
    if accounts:
        assert choices.accounts[0].label == f"{accounts[0]} ({'enterprise' if accounts[0] == 'Acme Corp' else 'basic'})"


def test_board_page_splits_lanes_and_counts_what_is_overdue(world):
    board = board_page(now=NOW + 2 * HOUR, engine=world.engine)
    drawn = {r.id for r in board.emergencies} | {r.id for c in board.columns.values() for r in c.rows}
    assert drawn == {world.urgent, world.minor} and board.counts.total == 2
    assert all(r.severity in EMERGENCY_SEVERITIES for r in board.emergencies)
    assert world.urgent in {r.id for r in board.emergencies}
    assert sum(c.total for c in board.columns.values()) + board.counts.emergency == board.counts.total
    # The P1 under red-status owes the client its first notice well before two hours.
    assert board.update_overdue(world.urgent) and board.counts.updates_overdue >= 1
    assert board.counts.clocks_overdue >= 1


@pytest.mark.parametrize("who, role, team, listed", [
    ("csm", Role.CSM, False, {"urgent"}), ("csm2", Role.CSM, False, set()),
    ("lead", Role.LEAD, True, {"urgent", "minor"}),
])
def test_home_page_shows_a_csm_their_own_and_a_lead_the_team(world, who, role, team, listed):
    home = home_page(viewer_id=world.users[who], role=role, now=NOW + dt.timedelta(minutes=45), engine=world.engine)
    assert home.team is team and home.team_open == 2
    assert {r.id for r in home.listed} == {getattr(world, name) for name in listed}
    assert {u.incident_id for u in home.updates_due} <= {r.id for r in home.listed}
    for due in home.updates_due:
        assert due.due_at <= NOW + dt.timedelta(minutes=45) + DUE_SOON


def test_reading_the_page_models_writes_nothing(world):
    from sqlalchemy import select

    from db.models import Base

    def every_row():
        with session_scope(world.engine) as s:
            return {t.name: s.execute(select(t).order_by(*t.primary_key.columns)).all()
                    for t in Base.metadata.sorted_tables}

    before = every_row()
    for who in ("csm", "lead", "admin"):
        v = viewer(world, who)
        accounts_page(viewer=v, engine=world.engine)
        account_page(world.accounts["acme"], viewer=v, now=NOW, engine=world.engine)
        health_page(viewer=v, now=NOW, engine=world.engine)
        dashboard_choices(viewer_id=v.id, role=v.role, engine=world.engine)
        home_page(viewer_id=v.id, role=v.role, now=NOW, engine=world.engine)
    board_page(now=NOW, engine=world.engine)
    users_page(viewer=Role.ADMIN, engine=world.engine)
    assert every_row() == before
