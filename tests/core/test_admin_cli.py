"""`python -m core init` and `python -m core users ...` on a private database."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Every test runs `python -m core init` and more commands, each a subprocess.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "ESCALATION_DESK_DATA": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    return run


def test_init_creates_the_first_admin_once_and_prints_its_password(cli):
    first = cli("init", "--no-demo")
    assert first.returncode == 0, first.stderr
    assert "Installed policy presets: crisis, default, growth-engine, red-status, spark, teamflow" in first.stdout
    assert re.search(r"one-time password: \S{16}", first.stdout)
    again = cli("init", "--no-demo")
    assert again.returncode == 0 and "one-time password" not in again.stdout
    listed = cli("users", "list")
    assert listed.stdout.splitlines() == ["admin\tadmin\tactive\tAdministrator (must change password)"]


def test_user_administration_commands(cli):
    cli("init", "--no-demo")
    added = cli("users", "add", "Jdoe", "--name", "Jane Doe", "--role", "csm", "--email", "jane@example.com")
    assert added.returncode == 0
    assert re.search(r"Added jdoe \(csm\)\. One-time password \(shown once\): \S{16}", added.stdout)
    assert cli("users", "set-role", "jdoe", "lead").stdout.strip() == "jdoe is now lead."
    assert cli("users", "disable", "jdoe").returncode == 0
    assert "jdoe\tlead\tdisabled" in cli("users", "list").stdout
    assert cli("users", "enable", "jdoe").returncode == 0
    reset = cli("users", "reset-password", "jdoe")
    assert reset.returncode == 0 and re.search(r"shown once\): \S{16}", reset.stdout)


@pytest.mark.parametrize(
    "args, message",
    [
        (("users", "add", "x", "--name", "X", "--role", "csm"), "3 to 64 characters"),
        (("users", "disable", "nobody"), "No user is called 'nobody'"),
        (("users", "set-role", "admin", "csm"), "last active administrator"),
        (("users", "add", "bob", "--name", "Bob", "--role", "csm", "--email", "bob@"), "not an address"),
    ],
)
def test_errors_exit_2_with_a_clear_message(cli, args, message):
    cli("init", "--no-demo")
    result = cli(*args)
    assert result.returncode == 2 and message in result.stderr


def test_init_schedules_the_reviews_of_incidents_resolved_without_them(cli, tmp_path):
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import delete, func, select

    from core.incident import flows as incidents
    from core.incident.lifecycle import Milestone
    from core.people.users import SYSTEM
    from core.triage.rules import Answers
    from db.engine import make_engine, session_scope
    from db.models import Account, ReviewTask

    assert cli("init", "--no-demo").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        account = Account(name="Acme Corp", tier="pro", annual_contract_value=Decimal(1000))
        s.add(account)
        s.flush()
        iid = incidents.open_incident(s, account_id=account.id, title="Sync stalled", summary="",
                                      answers=Answers(business_impact="major"), policy_name="growth-engine",
                                      actor=SYSTEM, now=now - dt.timedelta(hours=2)).id
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                   now=now - dt.timedelta(hours=1))
        # As an older version stored it: resolved, its reviews left for the first page view.
        s.execute(delete(ReviewTask))
    ran = cli("init", "--no-demo")
    assert ran.returncode == 0, ran.stderr
    assert "Reviews scheduled for resolved incidents that had none: 1." in ran.stdout
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReviewTask)) == 1
    assert "Reviews scheduled" not in cli("init", "--no-demo").stdout
    engine.dispose()
