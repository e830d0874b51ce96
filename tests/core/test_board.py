"""The emergency board's read model (core.incident.queues.board_page) on SQLite and PostgreSQL: every open P0/P1
in the lane, each status column's most urgent as cards, and counts that stay exact beyond what is drawn.

The caps are lowered here so a dozen incidents overflow them; the rows are inserted with the statuses,
severities and due times each case needs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert

from core.incident import queues, service
from db.engine import session_scope
from db.models import Account, Incident
from tests.conftest import NOW, make_user

MINUTE = dt.timedelta(minutes=1)

# (status, severity, next deadline in minutes from NOW or None, escalation overdue, client update overdue)
CASES = [
    ("new", "P2", 30, False, False), ("new", "P3", -5, True, False), ("new", "P2", 10, False, True),
    ("new", "P2", None, False, False), ("new", "P3", 60, False, False),
    ("mitigated", "P3", -1, False, True),
    ("new", "P0", 5, True, True), ("mobilized", "P1", -20, False, False), ("acknowledged", "P1", 40, False, False),
    ("reopened", "P0", None, False, True),
    ("resolved", "P0", -60, True, True), ("closed", "P2", -60, True, True),  # closed: counted nowhere
]


@pytest.fixture
def board_db(engine, monkeypatch):
    """The CASES as incidents of one account, with the board drawing 1 lane card, 3 lane rows, 2 cards a column."""
    owner = make_user(engine, "csm1", "csm")
    with session_scope(engine) as s:
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(1), owner_id=owner)
        s.add(account)
        s.flush()
        account_id = account.id
    rows = [{
        "title": f"case {n}", "summary": "", "account_id": account_id, "policy_name": "default",
        "policy_version": 1, "answers": {}, "triage_result": {}, "severity": severity, "red_status": False,
        "escalation_category": "none", "status": status, "detected_at": NOW - 60 * MINUTE, "owner_id": owner,
        "next_deadline_at": None if deadline is None else NOW + deadline * MINUTE,
        "next_deadline_clock": None if deadline is None else "resolution",
        "escalation_due_at": NOW - MINUTE if late_escalation else NOW + 60 * MINUTE,
        "next_client_update_due_at": NOW - MINUTE if late_update else NOW + 60 * MINUTE,
        "created_at": NOW, "updated_at": NOW, "is_drill": False, "version": 1,
    } for n, (status, severity, deadline, late_escalation, late_update) in enumerate(CASES)]
    with engine.begin() as conn:
        conn.execute(insert(Incident), rows)
    monkeypatch.setattr(queues, "LANE_CARDS", 1)
    monkeypatch.setattr(queues, "LANE_LIMIT", 3)
    monkeypatch.setattr(queues, "COLUMN_CARDS", 2)
    return engine


def titles(rows) -> list[str]:
    return [r.title for r in rows]


def test_counts_stay_exact_beyond_the_cards_drawn(board_db):
    board = queues.board_page(now=NOW, engine=board_db)
    counts = board.counts
    assert (counts.total, counts.emergency) == (10, 4)
    assert counts.by_status == {"new": 5, "reopened": 0, "acknowledged": 0, "mobilized": 0, "mitigated": 1}
    # Over every open incident, drawn or not: deadlines passed (cases 1, 5, 7), escalations (1, 6),
    # client updates (2, 5, 6, 9).
    assert (counts.clocks_overdue, counts.escalations_overdue, counts.updates_overdue) == (3, 2, 4)


def test_columns_draw_their_most_urgent_and_say_how_many_more(board_db):
    board = queues.board_page(now=NOW, engine=board_db)
    new = board.columns["new"]
    # The list's "most urgent" order: passed deadline first, then the nearest; no deadline last.
    assert titles(new.rows) == ["case 1", "case 2"] and (new.total, new.hidden) == (5, 3)
    assert titles(board.columns["mitigated"].rows) == ["case 5"] and board.columns["mitigated"].hidden == 0
    assert [c.total for c in board.columns.values()] == [5, 0, 0, 0, 1]
    assert list(board.columns) == [s.value for s in service.BOARD_COLUMNS]


def test_the_lane_lists_emergencies_most_urgent_first_up_to_its_limit(board_db):
    board = queues.board_page(now=NOW, engine=board_db)
    assert titles(board.emergencies) == ["case 7", "case 6", "case 8"]  # case 9 (no deadline) beyond LANE_LIMIT
    assert titles(board.lane_cards) == ["case 7"] and titles(board.lane_rest) == ["case 6", "case 8"]
    assert board.counts.emergency == 4
    # Client-update due times are read for every row shown, cards and table.
    assert {r.id for r in (*board.emergencies, *board.columns["new"].rows)} <= set(board.update_due)
    assert [board.update_overdue(r.id) for r in board.emergencies] == [False, True, False]


def test_a_board_with_nothing_open_is_empty_and_counts_zero(engine):
    board = queues.board_page(now=NOW, engine=engine)
    assert board.emergencies == () and all(c.rows == () and c.total == 0 for c in board.columns.values())
    assert (board.counts.total, board.counts.clocks_overdue) == (0, 0)
