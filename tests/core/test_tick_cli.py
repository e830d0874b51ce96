"""`python -m core tick`: one pass from the command line, its JSON summary, and its refusals (real subprocesses)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.incident import flows
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Notification, User
from tests.conftest import make_user

REPO = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def tick(engine, *args: str, base_url: str | None = "http://desk.example") -> subprocess.CompletedProcess:
    """Run `python -m core tick ARGS` on `engine`'s database."""
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    env.pop("ESCALATION_DESK_BASE_URL", None)
    if base_url:
        env["ESCALATION_DESK_BASE_URL"] = base_url
    return subprocess.run([sys.executable, "-m", "core", "tick", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _incident_due(engine) -> int:
    """A default-policy P1 owned by a user without email: acknowledge and escalation (1h each) warned at 50m."""
    owner = make_user(engine, "olivia", "csm")
    with session_scope(engine) as s:
        s.get(User, owner).email = ""
        policy_store.install_presets(s, now=T0)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=owner)
        s.add(account)
        s.flush()
        return flows.open_incident(s, account_id=account.id, title="Checkout down", summary="",
                                   policy_name="default", answers=Answers.model_validate({"business_impact": "major"}),
                                   actor=SYSTEM, now=T0, detected_at=T0, owner_id=owner).id


def test_a_second_pass_right_after_the_first_sends_nothing_new(engine):
    _incident_due(engine)
    first = tick(engine, "--once", "--now", "2026-03-02T09:51:00Z")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    # Two warnings to the owner's inbox (no email address, the levels publish no contact, no endpoint).
    assert summary == {"due": 2, "sent": 2, "failed": 0, "retrying": 0}
    again = tick(engine, "--once", "--now", "2026-03-02T09:51:05Z")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"due": 0, "sent": 0, "failed": 0, "retrying": 0}
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification)).all()
    assert sorted((row.rule, row.channel, row.state) for row in rows) == [
        ("warn:acknowledge", "inbox", "sent"), ("warn:escalation", "inbox", "sent")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--once", "--now", "2026-03-02T09:51:00"], "has no time zone; add one, e.g. 2026-03-02T09:51:00Z"),
        (["--once", "--now", "yesterday"], "'yesterday' is not an ISO time"),
        (["--now", "2026-03-02T09:51:00Z"], "--now goes with --once"),
        (["--every", "0"], "--every is a number of seconds above 0"),
    ],
)
def test_bad_options_exit_2_saying_what_to_write(engine, args, message):
    result = tick(engine, *args)
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""


def test_without_a_base_url_the_guess_is_named(engine):
    result = tick(engine, "--once", "--now", "2026-03-02T09:00:00Z", base_url=None)
    assert result.returncode == 0, result.stderr
    assert "http://localhost:8501, a guess" in result.stderr


def test_without_once_it_runs_a_pass_every_period_until_interrupted(engine):
    _incident_due(engine)
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "ESCALATION_DESK_BASE_URL": "http://desk.example"}
    worker = subprocess.Popen([sys.executable, "-m", "core", "tick", "--every", "0.2"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [worker.stdout.readline() for _ in range(2)]
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
    assert worker.returncode == 0
    assert [sorted(json.loads(line)) for line in lines] == [sorted(["due", "sent", "failed", "retrying"])] * 2
