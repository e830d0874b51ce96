"""Delivery under faults, with real processes and a real HTTP receiver on 127.0.0.1, on SQLite and PostgreSQL.

A receiver that is down, slow or answers 500 is retried with back-off and ends as a dead letter
with the reason, while other notifications keep flowing; a delivering process killed with SIGKILL
in the middle of a send loses nothing (its claim expires, another pass delivers, the repeat
carries the same dedupe key); two processes delivering 200 notifications at once deliver each
exactly once; a second pass right after sends nothing new. Each test prints its figures on lines
starting "outbox:", which the terminal summary repeats (tests/conftest.py).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.alerts import endpoints
from core.alerts.delivery import deliver
from core.outbox import delivery as outbox
from core.outbox.queue import Draft, enqueue
from core.people.access import Role
from core.people.users import Actor
from db.engine import session_scope
from db.models import Notification
from tests.conftest import NOW
from tests.core.http_receiver import closed_port_url, receiver

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ADMIN = Actor(id=None, name="Ada Admin", role=Role.ADMIN)
SECRET = "s3cret-for-the-tests-0123456789"
BASE = "https://desk.example"
DEDUPE = "X-Escalation-Desk-Dedupe-Key"


def add_webhook(eng, name: str, url: str) -> int:
    with session_scope(eng) as session:
        return endpoints.add_endpoint(session, name=name, kind="webhook", url=url, secret=SECRET, actor=ADMIN,
                                      now=NOW).id


def queue(eng, keys: list[str], endpoint_id: int, due=NOW) -> None:
    with session_scope(eng) as session:
        for key in keys:
            assert enqueue(session, Draft(rule="breach:resolve", channel="webhook", recipient="hook", dedupe_key=key,
                                          due_at=due, subject=f"alert {key}", body="due", endpoint_id=endpoint_id),
                           now=due) is not None


def states(eng) -> dict[str, Notification]:
    with session_scope(eng) as session:
        return {row.dedupe_key: row for row in session.scalars(select(Notification))}


def keys_received(rx) -> collections.Counter[str]:
    with rx.lock:
        return collections.Counter(headers[DEDUPE] for _, headers, _ in rx.deliveries)


def worker(eng, name: str, *args: str) -> subprocess.Popen[str]:
    url = eng.url.render_as_string(hide_password=False)
    return subprocess.Popen([sys.executable, "-m", "tests.core.outbox_worker", url, NOW.isoformat(), name, BASE,
                             *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def test_down_slow_and_failing_receivers_end_as_dead_letters_while_others_flow(engine):
    timeout = 0.3
    with receiver() as rx:
        bad = {"down": add_webhook(engine, "down", closed_port_url() + "/in"),
               "slow": add_webhook(engine, "slow", rx.url + "/slow/1"),
               "error": add_webhook(engine, "error", rx.url + "/status/500")}
        good = add_webhook(engine, "good", rx.url + "/ok")
        for name, endpoint_id in bad.items():
            queue(engine, [f"{name}-{n}" for n in range(2)], endpoint_id)
        now, passes, fresh, waits, pass_seconds = NOW, 0, 0, [], []
        while True:
            new = [f"good-{fresh + n}" for n in range(3)]
            fresh += 3
            queue(engine, new, good, due=now)
            started = time.monotonic()
            summary = deliver(engine, now=now, worker="w1", base_url=BASE, timeout=timeout)
            pass_seconds.append(time.monotonic() - started)
            passes += 1
            rows = states(engine)
            # What was queued for a working receiver went out in this very pass, failures or not.
            assert all(rows[key].state == "sent" for key in new), summary
            pending = [r.due_at for r in rows.values() if r.state == "pending"]
            if not pending:
                break
            nxt = min(pending).replace(tzinfo=now.tzinfo)
            waits.append((nxt - now).total_seconds())
            now = nxt
        rows = states(engine)
        received = keys_received(rx)
    reasons = {"down": "refused the connection", "slow": f"did not answer within {timeout:g} s",
               "error": "answered HTTP 500: receiver says no"}
    for name, reason in reasons.items():
        for n in range(2):
            row = rows[f"{name}-{n}"]
            assert (row.state, row.attempts) == ("dead", outbox.MAX_ATTEMPTS)
            assert row.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts: ") and reason in \
                row.last_error
    assert waits == [outbox.backoff(n).total_seconds() for n in range(1, outbox.MAX_ATTEMPTS)]
    assert all(received[f"good-{n}"] == 1 for n in range(fresh))
    assert received["error-0"] == received["slow-0"] == outbox.MAX_ATTEMPTS
    span = sum(waits)
    print(f"outbox: {engine.dialect.name}: down/slow/500 receivers: {outbox.MAX_ATTEMPTS} attempts each, back-off "
          f"{', '.join(f'{w:g}' for w in waits)} s ({span / 60:.1f} min from first attempt to dead letter); "
          f"{fresh} notifications to a working receiver queued across {passes} passes, every one sent in its own "
          f"pass; slowest pass {max(pass_seconds):.2f} s (2 sends timing out at {timeout:g} s)")


def test_a_process_killed_mid_send_loses_nothing_and_the_repeat_has_the_same_key(engine):
    with receiver() as rx:
        hold = add_webhook(engine, "hold", rx.url + "/hold")
        keys = [f"k{n}" for n in range(5)]
        queue(engine, keys, hold)
        victim = worker(engine, "victim", "--once")
        started = time.monotonic()
        assert rx.held.wait(60), victim.stderr.read() if victim.poll() is not None else "the worker never sent"
        held_after = time.monotonic() - started
        os.kill(victim.pid, signal.SIGKILL)
        assert victim.wait(30) == -signal.SIGKILL
        claimed = states(engine)
        assert {k: (r.state, r.claimed_by) for k, r in claimed.items()} == {k: ("pending", "victim") for k in keys}
        # While the dead process's lease runs, nobody else sends its rows.
        assert deliver(engine, now=NOW + outbox.DEFAULT_LEASE / 2, worker="w2", base_url=BASE).due == 0
        rx.release()  # the receiver answers at once from now on
        after = NOW + outbox.DEFAULT_LEASE + outbox.LEASE_MARGIN
        summary = deliver(engine, now=after, worker="w2", base_url=BASE)
        again = deliver(engine, now=after, worker="w2", base_url=BASE)
        rows = states(engine)
        received = keys_received(rx)
        with rx.lock:
            first = [headers for _, headers, _ in rx.deliveries if headers[DEDUPE] == "k0"]
    assert (summary.due, summary.sent) == (5, 5) and again.due == 0
    assert all(rows[k].state == "sent" and rows[k].claimed_by == "w2" for k in keys)
    assert received == {"k0": 2, "k1": 1, "k2": 1, "k3": 1, "k4": 1}
    assert [h["Idempotency-Key"] for h in first] == ["k0", "k0"]
    print(f"outbox: {engine.dialect.name}: kill -9 mid-send: 5 of 5 delivered after the "
          f"{outbox.DEFAULT_LEASE.total_seconds() / 60:g} min lease expired, 1 repeat (k0, same dedupe key), "
          f"0 lost; the send was held {held_after:.2f} s after the process started")


def test_two_processes_deliver_200_notifications_exactly_once(engine):
    with receiver() as rx:
        hook = add_webhook(engine, "hook", rx.url + "/slow/0.02")
        keys = [f"n{n:03d}" for n in range(200)]
        queue(engine, keys, hook)
        started = time.monotonic()
        procs = [worker(engine, f"proc{n}") for n in (1, 2)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        seconds = time.monotonic() - started
        after = deliver(engine, now=NOW, worker="w3", base_url=BASE)
        received = keys_received(rx)
    with session_scope(engine) as session:
        sent = session.scalar(select(func.count()).select_from(Notification).where(Notification.state == "sent"))
    assert sent == 200 and sorted(received) == keys and set(received.values()) == {1}
    assert sum(r["sent"] for r in results) == 200 and all(r["failed"] == r["retrying"] == 0 for r in results)
    assert all(r["sent"] > 0 for r in results), results  # both really delivered, side by side
    assert after.as_dict() == {"due": 0, "sent": 0, "failed": 0, "retrying": 0} and sum(received.values()) == 200
    print(f"outbox: {engine.dialect.name}: two processes, 200 due: {results[0]['sent']} + {results[1]['sent']} "
          f"sent, {sum(received.values())} received, 0 duplicates, in {seconds:.1f} s with process start-up, "
          f"{max(r['seconds'] for r in results):.1f} s of delivering (the receiver takes 20 ms each); "
          "a second pass right after: 0 due, 0 sent")
