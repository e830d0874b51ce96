"""The outbox's delivery pass on both engines: claims, outcomes, back-off, dead letters, retry, leases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from core.outbox import delivery
from core.outbox.delivery import DeliveryError, Outgoing, RetryRefused, backoff, deliver_due
from core.outbox.queue import Draft, enqueue
from db.engine import session_scope
from db.models import Notification
from tests.conftest import NOW

S = dt.timedelta(seconds=1)
M = dt.timedelta(minutes=1)


def queue(eng, key: str, *, due: dt.datetime = NOW, channel: str = "email") -> int:
    with session_scope(eng) as session:
        row = enqueue(session, Draft(rule="test", channel=channel, recipient="ana@example.com", dedupe_key=key,
                                     due_at=due, subject=f"about {key}", body="text"), now=NOW - M)
        assert row is not None
        return row.id


def rows(eng) -> dict[str, Notification]:
    with session_scope(eng) as session:
        return {r.dedupe_key: r for r in session.scalars(select(Notification))}


class Recorder:
    """A sender that records every Outgoing and fails the keys it is told to."""

    def __init__(self, failing: dict[str, DeliveryError] | None = None):
        self.seen: list[Outgoing] = []
        self.failing = failing or {}

    def __call__(self, item: Outgoing) -> None:
        self.seen.append(item)
        if item.dedupe_key in self.failing:
            raise self.failing[item.dedupe_key]


@pytest.mark.parametrize("attempts,wait", [
    (0, 30 * S), (1, 30 * S), (2, 60 * S), (3, 2 * M), (4, 4 * M), (5, 8 * M), (6, 16 * M), (7, 30 * M),
    (8, 30 * M), (50, 30 * M),
])
def test_backoff_doubles_from_30_seconds_and_stops_at_30_minutes(attempts, wait):
    assert backoff(attempts) == wait


def test_a_pass_sends_what_is_due_oldest_first_and_leaves_the_rest(engine):
    queue(engine, "later", due=NOW + M)
    queue(engine, "b", due=NOW - S)
    queue(engine, "a", due=NOW - 2 * S)
    sender = Recorder()
    summary = deliver_due(engine, now=NOW, send=sender, worker="w1")
    assert summary.as_dict() == {"due": 2, "sent": 2, "failed": 0, "retrying": 0}
    assert [item.dedupe_key for item in sender.seen] == ["a", "b"]
    state = rows(engine)
    assert (state["a"].state, state["a"].attempts, state["a"].claimed_by) == ("sent", 1, "w1")
    assert state["a"].sent_at.replace(tzinfo=dt.UTC) == NOW and state["a"].updated_at.replace(tzinfo=dt.UTC) == NOW
    assert state["later"].state == "pending"
    # A second pass right away sends nothing new.
    assert deliver_due(engine, now=NOW, send=sender, worker="w1").as_dict() == \
        {"due": 0, "sent": 0, "failed": 0, "retrying": 0}
    assert len(sender.seen) == 2


@pytest.mark.parametrize("error,state,attempts,due_after,error_start", [
    (DeliveryError("HTTP 500"), "pending", 1, 30 * S, "attempt 1 failed: HTTP 500"),
    (DeliveryError("HTTP 404", permanent=True), "dead", 1, None, "permanent failure: HTTP 404"),
    (RuntimeError("boom"), "pending", 1, 30 * S, "attempt 1 failed: RuntimeError: boom"),
])
def test_a_failure_is_rescheduled_or_dead_and_the_others_still_go(engine, error, state, attempts, due_after,
                                                                   error_start):
    queue(engine, "bad", due=NOW - 2 * S)
    queue(engine, "good", due=NOW - S)
    summary = deliver_due(engine, now=NOW, send=Recorder({"bad": error}), worker="w1")
    assert (summary.sent, summary.failed, summary.retrying) == (1, int(state == "dead"), int(state == "pending"))
    bad = rows(engine)["bad"]
    assert (bad.state, bad.attempts, bad.claimed_until) == (state, attempts, None)
    assert bad.last_error.startswith(error_start)
    assert bad.updated_at.replace(tzinfo=dt.UTC) == NOW
    if due_after is not None:
        assert bad.due_at.replace(tzinfo=dt.UTC) == NOW + due_after
    assert rows(engine)["good"].state == "sent"


def test_retries_follow_the_backoff_then_give_up_with_the_reason(engine):
    queue(engine, "flaky")
    sender = Recorder({"flaky": DeliveryError("connection refused")})
    now, waits = NOW, []
    for _ in range(delivery.MAX_ATTEMPTS):
        # Just before the next retry is due, nothing is sent.
        assert deliver_due(engine, now=now, send=sender, worker="w1").due == 1
        row = rows(engine)["flaky"]
        if row.state == "dead":
            break
        nxt = row.due_at.replace(tzinfo=dt.UTC)
        waits.append(nxt - now)
        assert deliver_due(engine, now=nxt - S, send=sender, worker="w1").due == 0
        now = nxt
    row = rows(engine)["flaky"]
    assert (row.state, row.attempts) == ("dead", delivery.MAX_ATTEMPTS)
    assert row.last_error == f"gave up after {delivery.MAX_ATTEMPTS} attempts: connection refused"
    assert waits == [backoff(n) for n in range(1, delivery.MAX_ATTEMPTS)]
    assert {item.dedupe_key for item in sender.seen} == {"flaky"}
    assert len(sender.seen) == delivery.MAX_ATTEMPTS


def test_a_live_claim_is_skipped_and_an_expired_one_is_taken_over(engine):
    queue(engine, "k")
    taken = delivery.claim(engine, now=NOW, worker="dead-process", lease=5 * M)
    assert [t.dedupe_key for t in taken] == ["k"]
    sender = Recorder()
    assert deliver_due(engine, now=NOW + 4 * M, send=sender, worker="w2").due == 0
    summary = deliver_due(engine, now=NOW + 5 * M + S, send=sender, worker="w2")
    assert (summary.due, summary.sent) == (1, 1)
    assert [item.dedupe_key for item in sender.seen] == ["k"]
    # The first process waking up late cannot record anything over the second one's result.
    assert delivery.record_sent(engine, taken[0], worker="dead-process", now=NOW + 6 * M) is False
    assert delivery.record_failure(engine, taken[0], DeliveryError("late"), worker="dead-process",
                                   now=NOW + 6 * M) is None
    assert (rows(engine)["k"].state, rows(engine)["k"].claimed_by) == ("sent", "w2")


def test_the_claim_limit_and_the_lease_margin_leave_the_rest_for_the_next_pass(engine):
    for n in range(5):
        queue(engine, f"k{n}", due=NOW - (5 - n) * S)
    sender = Recorder()
    assert deliver_due(engine, now=NOW, send=sender, worker="w1", limit=3).as_dict() == \
        {"due": 3, "sent": 3, "failed": 0, "retrying": 0}
    # A lease shorter than the safety margin: the pass claims but sends nothing it might lose mid-send,
    # and hands its claims back, so another process need not wait for them to expire.
    summary = deliver_due(engine, now=NOW, send=sender, worker="w1", lease=delivery.LEASE_MARGIN / 2)
    assert (summary.due, summary.sent) == (2, 0)
    assert {(r.state, r.claimed_until, r.claimed_by) for k, r in rows(engine).items() if k in ("k3", "k4")} == \
        {("pending", None, "")}
    assert deliver_due(engine, now=NOW, send=sender, worker="w2").sent == 2
    assert sorted(item.dedupe_key for item in sender.seen) == [f"k{n}" for n in range(5)]


def test_retry_puts_a_dead_letter_back_and_keeps_its_history(engine):
    nid = queue(engine, "k")
    deliver_due(engine, now=NOW, send=Recorder({"k": DeliveryError("HTTP 410 gone", permanent=True)}), worker="w")
    later = NOW + 10 * M
    with session_scope(engine) as session:
        delivery.retry(session, nid, now=later)
    row = rows(engine)["k"]
    assert (row.state, row.attempts, row.claimed_until, row.due_at.replace(tzinfo=dt.UTC)) == \
        ("pending", 0, None, later)
    assert "HTTP 410 gone" in row.last_error and row.last_error.startswith("retried 2026-03-02 09:10 UTC")
    assert deliver_due(engine, now=later, send=Recorder(), worker="w").sent == 1


@pytest.mark.parametrize("state,message", [
    ("pending", "is pending, not a dead letter"), ("sent", "is sent, not a dead letter"),
    ("cancelled", "is cancelled, not a dead letter"), (None, "There is no notification"),
])
def test_retry_refuses_anything_but_a_dead_letter(engine, state, message):
    nid = queue(engine, "k")
    with session_scope(engine) as session:
        if state is None:
            session.delete(session.get(Notification, nid))
        else:
            session.get(Notification, nid).state = state
    with session_scope(engine) as session, pytest.raises(RetryRefused, match=message):
        delivery.retry(session, nid, now=NOW)


def test_the_claim_query_reads_the_partial_pending_index(engine):
    query = delivery.claim_query(NOW, 50, engine.dialect.name)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            compiled = query.compile(engine)
            params = tuple(str(compiled.params[name]) for name in compiled.positiontup)
            plan = " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params))
        else:
            # The planner's own choice on a table that looks like a used outbox: 20,000 sent, 20 pending.
            conn.execute(text(
                "INSERT INTO notifications (rule, channel, recipient, dedupe_key, subject, body, payload, state, "
                "due_at, attempts, last_error, claimed_by, created_at, updated_at) "
                "SELECT 'test', 'email', 'a@example.com', 'k' || n, 's', 'b', '{}', "
                "CASE WHEN n % 1000 = 0 THEN 'pending' ELSE 'sent' END, :now - n * interval '1 minute', 1, '', '', "
                ":now, :now FROM generate_series(1, 20000) AS n"), {"now": NOW})
            conn.execute(text("ANALYZE notifications"))
            compiled = query.compile(engine)
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
    assert "ix_notifications_pending_due" in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan  # the index gives the order: no sort of the backlog
    print(f"outbox: {engine.dialect.name}: claim query plan: {plan}")
