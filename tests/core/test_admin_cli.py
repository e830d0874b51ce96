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


def _with_demo_team(tmp_path):
    """The demo team's users in the CLI's database, without the rest of the demo data (minutes to build)."""
    import datetime as dt

    from core.demo import dataset as demo
    from db.engine import make_engine, session_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        demo.load_team(s, dt.datetime.now(dt.UTC))
    engine.dispose()


def _password_hashes(tmp_path) -> dict[str, str]:
    from sqlalchemy import select

    from db.engine import make_engine, session_scope
    from db.models import User

    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as s:
        hashes = {name: digest for name, digest in s.execute(select(User.username, User.password_hash))}
    engine.dispose()
    return hashes


DEMO_ROW = re.compile(r"^(\w+)\s+(csm|lead|admin)\s+(.+?)\s+(\S{16})$")


def test_demo_logins_prints_a_new_one_time_password_for_each_role(cli, tmp_path):
    from core.people.passwords import verify_password

    assert cli("init", "--no-demo").returncode == 0
    _with_demo_team(tmp_path)
    done = cli("demo-logins")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines.index("username  role   name          one-time password")
    assert set(lines[header + 1]) == {"-", " "}
    rows = [DEMO_ROW.match(line).groups() for line in lines[header + 2:header + 5]]
    assert [(user, role, name) for user, role, name, _ in rows] == [
        ("priya", "csm", "Priya Raman"), ("lena", "lead", "Lena Ortiz"), ("nadia", "admin", "Nadia Haddad")]
    hashes = _password_hashes(tmp_path)
    for user, _role, _name, password in rows:
        assert verify_password(password, hashes[user]), f"{user} signs in with the password printed"
    listed = cli("users", "list").stdout
    for user in ("priya", "lena", "nadia"):
        assert re.search(rf"^{user}\t\w+\tactive\t.+ \(must change password\)$", listed, re.M), "chosen at sign-in"
    again = [DEMO_ROW.match(line).groups()[3] for line in cli("demo-logins").stdout.splitlines()
             if DEMO_ROW.match(line)]
    assert len(again) == 3 and not set(again) & {password for *_, password in rows}, "new ones each time"


def test_demo_logins_refuses_without_the_demo_team_and_leaves_real_users_alone(cli, tmp_path):
    assert cli("init", "--no-demo").returncode == 0
    refused = cli("demo-logins")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "the demo team" in refused.stderr and "python -m core init" in refused.stderr
    # A real Priya, added before the demo team: the demo's "priya" is her, so she is no demo login.
    assert cli("users", "add", "priya", "--name", "Priya Real", "--role", "lead",
               "--email", "priya@corp.example.com").returncode == 0
    assert cli("demo-logins").returncode == 2, "a real user is not the demo team"
    before = _password_hashes(tmp_path)["priya"]
    _with_demo_team(tmp_path)
    done = cli("demo-logins")
    assert done.returncode == 0
    assert "priya" not in {m.group(1) for line in done.stdout.splitlines() if (m := DEMO_ROW.match(line))}
    assert "No demo user called priya in this database: not reset." in done.stdout
    assert _password_hashes(tmp_path)["priya"] == before


def test_init_ends_with_a_box_giving_the_address_the_admin_and_the_demo_logins(cli, tmp_path):
    first = cli("init", "--no-demo", "--url", "http://127.0.0.1:8599")
    assert first.returncode == 0, first.stderr
    box = first.stdout.rstrip("\n").split("\n\n+")[-1].splitlines()
    assert box[0].startswith("-") and box[-1].startswith("+-") and box[-1].endswith("-+")
    assert all(line.startswith("|  ") and line.endswith("  |") and len(line) == len(box[-1]) for line in box[1:-1])
    text = "\n".join(line.strip("| ") for line in box[1:-1])
    assert "Escalation Desk: http://127.0.0.1:8599" in text
    assert "username: admin" in text and re.search(r"one-time password: \S{16}", text)
    assert "demo-logins" not in text, "no demo team in this database"
    _with_demo_team(tmp_path)
    again = cli("init", "--no-demo", "--url", "http://127.0.0.1:8599").stdout
    assert "one-time password" not in again and "users reset-password admin" in again
    assert "admin has not signed in yet; its first password was shown only once." in again
    assert ".venv/bin/python -m core demo-logins" in again
