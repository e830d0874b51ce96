"""Account create/edit/archive with validation, permissions and optimistic concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.account import service as svc
from core.account import signals
from core.account.access import accounts_for
from core.account.health import Observation
from core.people.access import Role
from db.engine import read_scope, session_scope
from db.models import Account, AuditEntry, HealthSignal
from tests.conftest import NOW, make_user


def editor(user_id: int, role: str) -> svc.Editor:
    return svc.Editor(user_id, f"user{user_id}", Role(role))


def data(**changes) -> svc.AccountInput:
    base = {
        "name": "Acme Corp", "tier": "enterprise", "annual_contract_value": "120000.00",
        "renewal_date": "2027-01-31", "owner_id": None, "time_zone": "Europe/Paris",
        "contract_terms": {"response_commitment": "1 hour, 24/7", "service_credits": "10% per hour of outage"},
        "contacts": [{"name": "Ana Martin", "role": "Head of Operations", "email": "ana@acme.example",
                      "phone": "+33 1 23 45 67 89", "time_zone": "Europe/Paris", "preferred_channel": "phone",
                      "is_primary": True}],
    }
    base.update(changes)
    return svc.parse_account(base)


@pytest.fixture
def team(engine):
    return {role: make_user(engine, f"{role}1", role) for role in ("csm", "lead", "admin")} | {
        "csm2": make_user(engine, "csm2", "csm")}


def create(engine, team, **changes) -> int:
    with session_scope(engine) as s:
        return svc.create_account(s, data=data(owner_id=team["csm"], **changes), editor=editor(team["lead"], "lead"),
                                  now=NOW)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "  "}, "name: is required"),
        ({"tier": "gold"}, "tier: 'gold' is not allowed; use 'basic', 'pro' or 'enterprise'"),
        ({"annual_contract_value": "-5"}, "annual contract value: Input should be greater than or equal to 0"),
        ({"annual_contract_value": "12.345"}, "annual contract value"),
        ({"renewal_date": "next year"}, "renewal date"),
        ({"time_zone": "Mars/Olympus"}, "time zone: unknown time zone 'Mars/Olympus'"),
        ({"contacts": [{"name": "A", "email": "not-an-address"}]},
         "contacts › 1 › email: 'not-an-address' is not an email"),
        ({"contacts": [{"name": "A", "phone": "call me"}]}, "contacts › 1 › phone"),
        ({"contacts": [{"name": "A", "preferred_channel": "pigeon"}]}, "contacts › 1 › preferred channel: 'pigeon'"),
        ({"contacts": [{"name": "A", "is_primary": True}, {"name": "B", "is_primary": True}]},
         "mark at most one contact as primary"),
        ({"contract_terms": {"penalty": "x"}}, "contract terms › penalty"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(changes, message):
    with pytest.raises(svc.AccountError) as raised:
        data(**changes)
    assert message in str(raised.value)


def test_create_stores_everything_and_audits(engine, team):
    account_id = create(engine, team)
    with read_scope(engine) as s:
        account = s.get(Account, account_id)
        assert (account.tier, str(account.annual_contract_value), account.renewal_date, account.owner_id) == (
            "enterprise", "120000.00", dt.date(2027, 1, 31), team["csm"])
        assert account.contract_terms == {"response_commitment": "1 hour, 24/7",
                                          "service_credits": "10% per hour of outage"}
        contacts = [(c.name, c.preferred_channel, c.is_primary) for c in account.contacts]
        assert contacts == [("Ana Martin", "phone", True)]
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "account")) == "created"


@pytest.mark.parametrize("name", ["Acme Corp", "ACME corp"])
def test_names_are_unique_ignoring_case(engine, team, name):
    create(engine, team)
    with pytest.raises(svc.AccountError, match="already exists"), session_scope(engine) as s:
        svc.create_account(s, data=data(name=name), editor=editor(team["lead"], "lead"), now=NOW)


def test_csm_cannot_create_accounts(engine, team):
    with pytest.raises(svc.AccountForbidden), session_scope(engine) as s:
        svc.create_account(s, data=data(), editor=editor(team["csm"], "csm"), now=NOW)


@pytest.mark.parametrize(
    "who, change, allowed",
    [
        ("csm", {"tier": "pro"}, True),                 # own account
        ("csm2", {"tier": "pro"}, False),               # someone else's
        ("csm", {"owner_id": "csm2"}, False),           # a CSM cannot give the account away
        ("lead", {"owner_id": "csm2"}, True),
        ("admin", {"tier": "basic"}, True),
    ],
)
def test_who_may_edit(engine, team, who, change, allowed):
    account_id = create(engine, team)
    change = {k: team[v] if k == "owner_id" else v for k, v in change.items()}
    role = "csm" if who.startswith("csm") else who
    with session_scope(engine) as s:
        new = data(owner_id=team["csm"], **{k: v for k, v in change.items() if k != "owner_id"})
        new = new.model_copy(update={"owner_id": change.get("owner_id", team["csm"])})
        if allowed:
            svc.update_account(s, account_id=account_id, data=new, expected_version=1, editor=editor(team[who], role),
                               now=NOW)
        else:
            with pytest.raises(svc.AccountForbidden):
                svc.update_account(s, account_id=account_id, data=new, expected_version=1,
                                   editor=editor(team[who], role), now=NOW)


REFUSED_WRITES = [
    # (who, write, the message naming who may)
    ("csm2", lambda s, account_id, who: svc.update_account(
        s, account_id=account_id, data=data(owner_id=None), expected_version=1, editor=who, now=NOW),
     "Only the account's owner, a lead or an admin may edit Acme Corp."),
    ("csm2", lambda s, account_id, who: signals.record(
        s, account_id=account_id, reading=signals.parse_reading({"metric": "csat", "observed_at": NOW, "value": 6}),
        source="form", editor=who, now=NOW),
     "Only the account's owner, a lead or an admin may record a reading for Acme Corp."),
    ("csm", lambda s, account_id, who: svc.update_account(
        s, account_id=account_id, data=data(owner_id=None), expected_version=1, editor=who, now=NOW),
     "Only a lead or an admin can hand an account to another owner."),
    ("lead", lambda s, account_id, who: svc.set_archived(
        s, account_id=account_id, archived=True, expected_version=1, editor=who, now=NOW),
     "Only an admin can archive or restore accounts."),
    ("csm", lambda s, account_id, who: svc.create_account(s, data=data(name="Initech"), editor=who, now=NOW),
     "Only a lead or an admin can create accounts."),
]


@pytest.mark.parametrize("who, write, message", REFUSED_WRITES)
def test_a_refused_write_says_who_may_and_changes_nothing(engine, team, who, write, message):
    # The page only offers these actions to those allowed; the core refuses anyone else the same way for the
    # page, the command line and an HTTP API.
    account_id = create(engine, team)
    refused = editor(team[who], "csm" if who.startswith("csm") else who)
    with pytest.raises(svc.AccountForbidden) as raised, session_scope(engine) as s:
        write(s, account_id, refused)
    assert str(raised.value) == message
    assert isinstance(raised.value, PermissionError)
    with read_scope(engine) as s:
        assert s.get(Account, account_id).version == 1
        assert s.scalar(select(func.count()).select_from(HealthSignal)) == 0
        assert s.scalar(select(func.count()).select_from(Account)) == 1


def test_stale_edit_is_refused_and_the_first_edit_kept(engine, team):
    account_id = create(engine, team)
    with session_scope(engine) as s:
        svc.update_account(s, account_id=account_id, data=data(owner_id=team["csm"], tier="pro"), expected_version=1,
                           editor=editor(team["lead"], "lead"), now=NOW)
    with pytest.raises(svc.AccountConflict) as raised, session_scope(engine) as s:
        svc.update_account(s, account_id=account_id, data=data(owner_id=team["csm"], tier="basic"), expected_version=1,
                           editor=editor(team["csm"], "csm"), now=NOW)
    assert "you had version 1, it is now 2" in str(raised.value)
    assert any("edited" in line and "tier" in line for line in raised.value.changes)
    with read_scope(engine) as s:
        assert (s.get(Account, account_id).tier, s.get(Account, account_id).version) == ("pro", 2)


def test_contact_only_edit_bumps_the_version(engine, team):
    account_id = create(engine, team)
    contacts = [{"name": "Ana Martin", "email": "ana@acme.example"}, {"name": "Ben Silva", "role": "CTO"}]
    with session_scope(engine) as s:
        svc.update_account(s, account_id=account_id, data=data(owner_id=team["csm"], contacts=contacts),
                           expected_version=1, editor=editor(team["csm"], "csm"), now=NOW)
    with read_scope(engine) as s:
        account = s.get(Account, account_id)
        assert account.version == 2
        assert [c.name for c in account.contacts] == ["Ana Martin", "Ben Silva"]


@pytest.mark.parametrize("acv", ["120000.00", "120000", "120000.0"])  # the form sends 120000.0
def test_unchanged_save_changes_nothing(engine, team, acv):
    account_id = create(engine, team)
    with session_scope(engine) as s:
        svc.update_account(s, account_id=account_id, data=data(owner_id=team["csm"], annual_contract_value=acv),
                           expected_version=1, editor=editor(team["csm"], "csm"), now=NOW)
    with read_scope(engine) as s:
        assert s.get(Account, account_id).version == 1


def test_archive_hides_from_lists_and_triage_but_keeps_history(engine, team):
    account_id = create(engine, team)
    with session_scope(engine) as s:
        signals.record(s, account_id=account_id, reading=signals.parse_reading(
            {"metric": "csat", "observed_at": NOW - dt.timedelta(days=1), "value": 6}), source="form",
            editor=editor(team["csm"], "csm"), now=NOW)
    with pytest.raises(svc.AccountForbidden), session_scope(engine) as s:
        svc.set_archived(s, account_id=account_id, archived=True, expected_version=1,
                         editor=editor(team["lead"], "lead"), now=NOW)
    with session_scope(engine) as s:
        svc.set_archived(s, account_id=account_id, archived=True, expected_version=1,
                         editor=editor(team["admin"], "admin"), now=NOW)
    admin = editor(team["admin"], "admin")
    with read_scope(engine) as s:
        assert svc.list_accounts(s, admin) == []
        assert [a.name for a in svc.list_accounts(s, admin, include_archived=True)] == ["Acme Corp"]
        assert [a.name for a in svc.list_accounts(s, editor(team["lead"], "lead"), include_archived=True)] == []
        assert accounts_for(s, user_id=team["csm"], role=Role.CSM) == []
        assert s.scalar(select(HealthSignal.value)) == 6
    with pytest.raises(svc.AccountError, match="archived"), session_scope(engine) as s:
        svc.update_account(s, account_id=account_id, data=data(owner_id=team["csm"], tier="pro"), expected_version=2,
                           editor=admin, now=NOW)
    with session_scope(engine) as s:
        svc.set_archived(s, account_id=account_id, archived=False, expected_version=2, editor=admin, now=NOW)
    with read_scope(engine) as s:
        assert [a.name for a in svc.list_accounts(s, admin)] == ["Acme Corp"]


def test_csm_lists_only_own_accounts(engine, team):
    create(engine, team)
    create(engine, team, name="Globex")
    with session_scope(engine) as s:
        svc.create_account(s, data=data(name="Initech", owner_id=team["csm2"]), editor=editor(team["lead"], "lead"),
                           now=NOW)
    with read_scope(engine) as s:
        assert [a.name for a in svc.list_accounts(s, editor(team["csm"], "csm"))] == ["Acme Corp", "Globex"]
        assert len(svc.list_accounts(s, editor(team["lead"], "lead"))) == 3


def test_form_data_round_trips(engine, team):
    account_id = create(engine, team)
    with read_scope(engine) as s:
        assert svc.parse_account(svc.form_data(s.get(Account, account_id))) == data(owner_id=team["csm"])


# --------------------------------------------------------------------------
# Signals stored, read back and derived from incidents.


@pytest.mark.parametrize(
    "reading, message",
    [
        ({"metric": "nps", "value": 1}, "unknown metric 'nps'"),
        ({"metric": "csat", "value": 11}, "out of range for csat: give a number between 0 and 10"),
        ({"metric": "uptime_pct", "value": -1}, "between 0 and 100"),
        ({"metric": "support_tickets", "value": 2.5}, "whole number"),
        ({"metric": "csat", "value": 5, "target": 8}, "only key_metric has a target"),
        ({"metric": "key_metric", "value": 5, "target": 0}, "target must be above 0"),
        ({"metric": "csat", "value": 5, "observed_at": "2026-03-01T09:00:00"}, "with its zone"),
    ],
)
def test_bad_readings_are_refused(reading, message):
    with pytest.raises(signals.SignalError, match=message):
        signals.parse_reading({"observed_at": "2026-03-01T09:00:00Z", **reading})


def test_stored_readings_win_over_derived_ones_on_the_same_day(engine, team):
    from tests.pages.conftest import open_test_incident  # the real opening flow

    account_id = create(engine, team)
    from core.policy import store as policy_store
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
    for minutes in (60, 120):
        open_test_incident(engine, "Acme Corp", {"csat": 5}, minutes_ago=minutes)
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=10)
    with read_scope(engine) as s:
        derived = signals.observations(s, [account_id], since, now)
    tickets = [o for o in derived if o.metric == "support_tickets"]
    assert sum(o.value for o in tickets) == 2 and {o.source for o in tickets} == {"incident"}
    assert [o.value for o in derived if o.metric == "csat"] == [5.0, 5.0]
    with session_scope(engine) as s:
        for o in tickets:
            signals.record(s, account_id=account_id, reading=signals.parse_reading(
                {"metric": "support_tickets", "observed_at": o.observed_at, "value": 7}), source="form",
                editor=svc.Editor(None, "t", Role.ADMIN), now=now)
    with read_scope(engine) as s:
        after = [o for o in signals.observations(s, [account_id], since, now) if o.metric == "support_tickets"]
    assert [(o.value, o.source) for o in after] == [(7.0, "form")] * len(tickets)


def test_duplicate_and_future_readings_are_refused(engine, team):
    account_id = create(engine, team)
    reading = signals.parse_reading({"metric": "csat", "observed_at": NOW, "value": 6})
    admin = svc.Editor(None, "t", Role.ADMIN)
    with session_scope(engine) as s:
        signals.record(s, account_id=account_id, reading=reading, source="form", editor=admin, now=NOW)
    with pytest.raises(signals.SignalError, match="already has a csat reading"), session_scope(engine) as s:
        signals.record(s, account_id=account_id, reading=reading, source="form", editor=admin, now=NOW)
    with pytest.raises(signals.SignalError, match="future"), session_scope(engine) as s:
        signals.record(s, account_id=account_id, reading=reading, source="form", editor=admin,
                       now=NOW - dt.timedelta(minutes=1))
    with read_scope(engine) as s:
        assert signals.stored(s, [account_id], NOW - dt.timedelta(days=1), NOW) == [
            Observation(account_id, "csat", NOW, 6.0, None, "form")]
