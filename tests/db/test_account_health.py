"""Stored account health (issue 21): always the answer a full live evaluation gives, on SQLite and PostgreSQL.

Each account's early warnings are stored with the moment they were evaluated for and the first
moment they may change. These tests compare, after every kind of write, as time passes and after
the scheduler's refresh, what the pages read (`signals.health_report`) and what is stored with a
live evaluation of every reading from scratch (`live` below), and check that a write re-evaluates
only the accounts it touched.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.account import health, signals
from core.account.importer import import_signals
from core.account.service import Editor
from core.incident import flows as incidents
from core.people.access import Role
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.policy.loading import PRESET_DIR
from core.triage.rules import Answers
from db.engine import read_scope, session_scope
from db.models import Account, AccountHealth
from tests.conftest import NOW

ADMIN = Editor(None, "test", Role.ADMIN)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def live(engine, now: dt.datetime) -> list[health.HealthWarning]:
    """Every account's warnings at `now`, evaluated from every reading of the lookback (the reference)."""
    with read_scope(engine) as s:
        _name, rules = signals.default_rules(s)
        ids = list(s.scalars(select(Account.id)))
        readings = signals.observations(s, ids, now - health.lookback(rules), now)
        return health.evaluate(readings, rules, now)


def read(engine, now: dt.datetime) -> list[health.HealthWarning]:
    """What the pages read at `now`: stored rows that hold, the others evaluated live."""
    with read_scope(engine) as s:
        return list(signals.health_report(s, s.scalars(select(Account.id)).all(), now).warnings)


def stored(engine) -> dict[int, tuple]:
    """Every stored row: account -> (rules hash, evaluated at, valid until, score, warnings)."""
    with read_scope(engine) as s:
        return {r.account_id: (r.rules_hash, r.evaluated_at, r.valid_until, r.score, r.warnings)
                for r in s.scalars(select(AccountHealth))}


def holding(engine, now: dt.datetime) -> list[health.HealthWarning]:
    """The warnings of the stored rows alone, asserting that every account's row holds at `now`."""
    with read_scope(engine) as s:
        _name, rules = signals.default_rules(s)
        fingerprint = signals.rules_fingerprint(rules)
        rows = list(s.scalars(select(AccountHealth).order_by(AccountHealth.account_id)))
        assert [r.account_id for r in rows] == sorted(s.scalars(select(Account.id)))
    found = []
    for row in rows:
        assert row.rules_hash == fingerprint and row.evaluated_at <= now, row.account_id
        assert row.valid_until is None or now < row.valid_until, (row.account_id, row.valid_until, now)
        found += [signals._warning(row.account_id, item) for item in row.warnings]
    return found


def _reading(engine, account_id: int, metric: str, value: float, at: dt.datetime, *, now: dt.datetime = NOW,
             target: float | None = None) -> None:
    with session_scope(engine) as s:
        signals.record(s, account_id=account_id, reading=signals.parse_reading(
            {"metric": metric, "observed_at": at, "value": value, "target": target}), source="form",
            editor=ADMIN, now=now)


def _incident(engine, account_id: int, at: dt.datetime, *, answers: dict | None = None, drill: bool = False,
              now: dt.datetime = NOW) -> None:
    with session_scope(engine) as s:
        incidents.open_incident(s, account_id=account_id, title="Case", summary="test", policy_name="default",
                                answers=Answers.model_validate({"business_impact": "minor", **(answers or {})}),
                                actor=SYSTEM, now=now, detected_at=at, is_drill=drill)


@pytest.fixture
def accounts(engine) -> dict[str, Any]:
    """Four accounts whose readings fire (or nearly fire) every rule of the default policy, at odd times of day."""
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW - 90 * DAY)
        rows = {name: Account(name=name, tier="pro", annual_contract_value=Decimal(1)) for name in
                ("Acme", "Globex", "Initech", "Umbrella", "Hooli")}
        s.add_all(rows.values())
        s.flush()
        ids = {name: a.id for name, a in rows.items()}
    acme, globex, initech, _umbrella, hooli = ids.values()
    for days, value in ((3.3, 8.0), (1.2, 6.5)):  # CSAT falling and under 7
        _reading(engine, acme, "csat", value, NOW - days * DAY)
    for hours, value in ((70, 1.0), (40, 2.0), (13, 3.0)):  # error rate rising for 57 hours
        _reading(engine, acme, "error_rate", value, NOW - hours * HOUR)
    for hours in (3, 30, 100, 150):  # four tickets this week: repeat-tickets; one's day leaves it at +15 h
        _incident(engine, globex, NOW - hours * HOUR, answers={"csat": 9} if hours == 30 else None)
    for hours in (200, 320):  # last week's two: a +100 % surge
        _incident(engine, globex, NOW - hours * HOUR)
    _incident(engine, globex, NOW - 5 * HOUR, answers={"uptime_pct": 90.0}, drill=True)  # a drill: nothing
    _reading(engine, initech, "key_metric", 70.0, NOW - (59 * DAY + 16 * HOUR), target=100.0)  # leaves at +8 h
    _reading(engine, initech, "uptime_pct", 94.0, NOW - 20 * DAY)
    for days, count in ((13.5, 1), (10.2, 1), (5.25, 2), (2.75, 3)):  # stored tickets (a ticket system's counts)
        _reading(engine, initech, "support_tickets", count, NOW - days * DAY)
    # Last week's first ticket leaves the week before at +2.4 h: the surge stays, its measure changes.
    for days, count in ((13.9, 1), (8, 1), (1, 3)):
        _reading(engine, hooli, "support_tickets", count, NOW - days * DAY)
    signals.refresh_due(engine, NOW)  # Umbrella, never written to, as the scheduler pass would
    return {"engine": engine, "ids": ids}


def _import(engine, ids) -> None:
    data = (f"account,metric,observed_at,value,target\nGlobex,csat,{(NOW - 2 * HOUR).isoformat()},5,\n"
            f"Umbrella,error_rate,{(NOW - 9 * HOUR).isoformat()},3,\n").encode()
    with session_scope(engine) as s:
        assert import_signals(s, data, editor=ADMIN, now=NOW) == 2


def _new_rules(engine, ids) -> None:
    text = (PRESET_DIR / "default.yaml").read_text(encoding="utf-8").replace(
        "comparison: lt, value: 7, unit: score", "comparison: lt, value: 9.5, unit: score")
    with session_scope(engine) as s:
        policy_store.save_version(s, name="default", yaml_text=text, actor_id=None, actor_name="t", now=NOW)
        signals.refresh_stale(s, NOW)  # what the Policies page does in the same unit of work


def _set_default(engine, ids) -> None:
    with session_scope(engine) as s:
        policy_store.set_default(s, name="spark", actor_id=None, actor_name="t", now=NOW)
        signals.refresh_stale(s, NOW)


WRITES = {
    "nothing": lambda engine, ids: None,
    "form reading": lambda engine, ids: _reading(engine, ids["Umbrella"], "csat", 4.0, NOW - HOUR),
    "reading that ends a run": lambda engine, ids: _reading(engine, ids["Acme"], "error_rate", 0.5, NOW - HOUR),
    "CSV import": _import,
    "incident with answers": lambda engine, ids: _incident(engine, ids["Umbrella"], NOW - 2 * HOUR,
                                                            answers={"csat": 3, "uptime_pct": 80}),
    "fifth ticket this week": lambda engine, ids: _incident(engine, ids["Globex"], NOW - 26 * HOUR),
    "backdated incident": lambda engine, ids: _incident(engine, ids["Acme"], NOW - 12 * DAY),
    "drill": lambda engine, ids: _incident(engine, ids["Acme"], NOW - HOUR, answers={"csat": 1}, drill=True),
    "new rules in the default policy": _new_rules,
    "another default policy": _set_default,
}


# Opening an incident is the emergency path: it marks its account's row as no longer holding instead of
# evaluating it; readers evaluate that account live until the scheduler pass stores it again.
MARKS_STALE = {"incident with answers": {"Umbrella"}, "fifth ticket this week": {"Globex"},
               "backdated incident": {"Acme"}}


def not_holding(engine, now: dt.datetime) -> set[int]:
    """The accounts whose stored row does not hold at `now`."""
    with read_scope(engine) as s:
        _name, rules = signals.default_rules(s)
        fingerprint = signals.rules_fingerprint(rules)
    return {i for i, (rules_hash, at, until, _, _) in stored(engine).items()
            if rules_hash != fingerprint or at > now or (until is not None and until <= now)}


@pytest.mark.parametrize("write", WRITES)
def test_after_each_kind_of_write_the_stored_rows_hold_and_equal_a_live_evaluation(accounts, write):
    engine, ids = accounts["engine"], accounts["ids"]
    WRITES[write](engine, ids)
    expected = live(engine, NOW)
    assert read(engine, NOW) == expected
    assert not_holding(engine, NOW) == {ids[name] for name in MARKS_STALE.get(write, ())}
    if write in MARKS_STALE:
        assert signals.refresh_due(engine, NOW) == 1
    assert holding(engine, NOW) == expected


def test_the_fixture_fires_what_it_says(accounts):
    ids = accounts["ids"]
    fired = {(w.account_id, w.rule) for w in live(accounts["engine"], NOW)}
    assert fired == {(ids["Acme"], "satisfaction-dropping"), (ids["Acme"], "low-csat"), (ids["Acme"], "rising-errors"),
                     (ids["Globex"], "repeat-tickets"), (ids["Globex"], "ticket-volume-surge"),
                     (ids["Initech"], "metric-shortfall"), (ids["Initech"], "low-uptime"),
                     (ids["Initech"], "ticket-volume-surge"), (ids["Initech"], "repeat-tickets"),
                     (ids["Hooli"], "ticket-volume-surge"), (ids["Hooli"], "repeat-tickets")}


@pytest.mark.parametrize("write", ["form reading", "CSV import", "incident with answers", "fifth ticket this week"])
def test_a_write_re_evaluates_only_the_accounts_it_touched(accounts, write):
    engine, ids = accounts["engine"], accounts["ids"]
    touched = {"form reading": {"Umbrella"}, "CSV import": {"Globex", "Umbrella"},
               "incident with answers": {"Umbrella"}, "fifth ticket this week": {"Globex"}}[write]
    before = stored(engine)
    WRITES[write](engine, ids)
    after = stored(engine)
    changed = {name for name, i in ids.items() if after[i] != before[i]}
    assert changed == touched


# Moments after the last write: on and around the ones where a reading leaves a window or the lookback.
LATER = [
    HOUR, 2.4 * HOUR - dt.timedelta(microseconds=1), 2.4 * HOUR, 8 * HOUR - dt.timedelta(microseconds=1), 8 * HOUR,
    15 * HOUR, 18 * HOUR, 18 * HOUR + dt.timedelta(seconds=1),
    DAY, 2 * DAY, 3 * DAY + 15 * HOUR, 4 * DAY, 7 * DAY, 20 * DAY, 59 * DAY, 61 * DAY, 400 * DAY,
]


@pytest.mark.parametrize("later", LATER)
def test_as_time_passes_stale_rows_are_evaluated_live_and_the_answer_stays_exact(accounts, later):
    engine = accounts["engine"]
    assert read(engine, NOW + later) == live(engine, NOW + later)


@pytest.mark.parametrize("later", LATER)
def test_the_scheduler_refresh_leaves_every_row_holding_and_exact(accounts, later):
    engine = accounts["engine"]
    moment = NOW + later
    with read_scope(engine) as s:
        _name, rules = signals.default_rules(s)
        fingerprint = signals.rules_fingerprint(rules)
    rows = stored(engine)
    due = {i for i, (rules_hash, at, until, _, _) in rows.items()
           if rules_hash != fingerprint or at > moment or (until is not None and until <= moment)}
    assert signals.refresh_due(engine, moment, batch=2) == len(due)
    assert {i for i, row in stored(engine).items() if row != rows[i]} == due
    assert holding(engine, moment) == live(engine, moment)
    assert signals.refresh_due(engine, moment) == 0


def test_each_row_holds_until_its_stated_moment(accounts):
    # A row's evaluation is the live one at every moment up to just before `valid_until`.
    engine = accounts["engine"]
    rows = stored(engine)
    assert any(until is not None for _, _, until, _, _ in rows.values())
    for account_id, (_, at, until, _, items) in rows.items():
        for moment in (at, until - dt.timedelta(microseconds=1) if until else at + 1000 * DAY):
            expected = [w for w in live(engine, moment) if w.account_id == account_id]
            assert [signals._warning(account_id, item) for item in items] == expected, (account_id, moment)


def test_a_reading_in_the_future_of_the_evaluation_ends_it_when_it_arrives(accounts):
    # A reading recorded with a later clock than a reader's: the row evaluated then starts later than the
    # reader's `now`, so the reader evaluates live; at the reading's time the new answer holds.
    engine, ids = accounts["engine"], accounts["ids"]
    _reading(engine, ids["Umbrella"], "uptime_pct", 50.0, NOW + 2 * HOUR, now=NOW + 3 * HOUR)
    for moment in (NOW, NOW + HOUR, NOW + 2 * HOUR, NOW + 3 * HOUR):
        assert read(engine, moment) == live(engine, moment)


def test_rebuild_equals_what_the_writes_kept(accounts):
    engine = accounts["engine"]
    kept = stored(engine)
    moments = {at for _, at, _, _, _ in kept.values()}
    assert moments == {NOW}
    with session_scope(engine) as s:
        assert signals.rebuild_account_health(s, NOW) == len(kept)
    assert stored(engine) == kept


def _while_a_transaction_holds(engine, hold, meanwhile) -> None:
    """Run `hold(session)` in a thread's transaction kept open half a second after it, and `meanwhile()` then."""
    import threading
    import time

    done = threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with session_scope(engine) as s:
                hold(s)
                done.set()
                time.sleep(0.5)
        except BaseException as error:  # reported below
            errors.append(error)
            done.set()

    thread = threading.Thread(target=holder)
    thread.start()
    done.wait(10)
    meanwhile()
    thread.join(10)
    assert not errors


def test_two_writers_of_one_account_at_once_store_an_answer_that_counts_both(accounts):
    # The first holds its transaction open after re-evaluating; the second records another reading
    # meanwhile. Without the row lock the second would evaluate without the first's reading and store
    # that last (its UPDATE waits for the first's, then writes what it had computed).
    engine, umbrella = accounts["engine"], accounts["ids"]["Umbrella"]
    _reading(engine, umbrella, "support_tickets", 1, NOW - 4 * DAY)
    _while_a_transaction_holds(
        engine,
        lambda s: signals.record(s, account_id=umbrella, reading=signals.parse_reading(
            {"metric": "support_tickets", "observed_at": NOW - 2 * DAY, "value": 1}), source="form",
            editor=ADMIN, now=NOW),
        lambda: _reading(engine, umbrella, "support_tickets", 1, NOW - 3 * DAY))
    assert (umbrella, "repeat-tickets") in {(w.account_id, w.rule) for w in live(engine, NOW)}
    assert holding(engine, NOW) == live(engine, NOW)


def test_an_incident_opened_while_a_scheduler_pass_evaluates_its_account_is_never_missed(accounts):
    # The pass has evaluated Globex without the new incident and holds its transaction open; the opening
    # transaction marks Globex stale meanwhile. Its UPDATE waits for the pass to commit (PostgreSQL's row
    # lock, SQLite's single writer), then marks the row the pass stored: readers and the next pass see it.
    engine, globex = accounts["engine"], accounts["ids"]["Globex"]
    with session_scope(engine) as s:
        signals.mark_stale(s, [globex], NOW)

    def scheduler_pass(s) -> None:
        assert signals.refresh_stale(s, NOW) == 1

    _while_a_transaction_holds(engine, scheduler_pass,
                               lambda: _incident(engine, globex, NOW - HOUR, answers={"csat": 2}))
    assert not_holding(engine, NOW) == {globex}
    expected = live(engine, NOW)
    assert (globex, "low-csat") in {(w.account_id, w.rule) for w in expected}
    assert read(engine, NOW) == expected
    assert signals.refresh_due(engine, NOW) == 1
    assert holding(engine, NOW) == expected
