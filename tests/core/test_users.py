"""Sign-in rules, lockout and user administration, on SQLite and PostgreSQL."""

import datetime as dt

import pytest

from core import users
from core.passwords import PasswordRuleError, check_password_rules
from db.engine import session_scope
from db.models import AuditEntry, User
from tests.conftest import NOW, TEST_PASSWORD, make_user

MIN = dt.timedelta(minutes=1)


def sign_in(engine, username, password, at):
    with session_scope(engine) as s:
        return users.authenticate(s, username=username, password=password, now=at)


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short", "5 characters long; use at least 12"),
        ("elevenchars", "11 characters long; use at least 12"),
        ("a" * 73, "73 bytes long in UTF-8; use at most 72"),
        ("é" * 37, "74 bytes long in UTF-8; use at most 72"),
        (" padded password ", "must not start or end with a space"),
        ("twelve chars", None),
        ("a" * 72, None),
    ],
)
def test_password_rules(password, problem):
    if problem is None:
        check_password_rules(password)
    else:
        with pytest.raises(PasswordRuleError, match=problem):
            check_password_rules(password)


def test_sign_in_ok_and_case_insensitive(engine):
    make_user(engine, "alice", "csm")
    result = sign_in(engine, "  ALICE ", TEST_PASSWORD, NOW)
    assert result.outcome is users.SignInOutcome.OK and result.user_id is not None


@pytest.mark.parametrize("who", ["alice", "nobody"])
def test_five_failures_in_fifteen_minutes_lock_for_fifteen_minutes(engine, who):
    make_user(engine, "alice", "csm")
    outcomes = [sign_in(engine, who, "wrong password!", NOW + i * MIN).outcome for i in range(5)]
    assert outcomes == [users.SignInOutcome.INVALID] * 4 + [users.SignInOutcome.LOCKED]
    # Locked even with the right password, from any session, until 15 minutes after the 5th failure.
    locked = sign_in(engine, who, TEST_PASSWORD, NOW + 10 * MIN)
    assert locked.outcome is users.SignInOutcome.LOCKED
    assert locked.locked_until == NOW + 4 * MIN + users.LOCK_DURATION
    assert "locked until" in locked.message
    after = sign_in(engine, who, TEST_PASSWORD, NOW + 19 * MIN + dt.timedelta(seconds=1))
    expected = users.SignInOutcome.OK if who == "alice" else users.SignInOutcome.INVALID
    assert after.outcome is expected


def test_failures_spread_over_more_than_the_window_do_not_lock(engine):
    make_user(engine, "alice", "csm")
    for i in range(8):
        result = sign_in(engine, "alice", "wrong password!", NOW + i * 4 * MIN)
        assert result.outcome is users.SignInOutcome.INVALID, i
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 40 * MIN).outcome is users.SignInOutcome.OK


def test_success_resets_the_failure_count(engine):
    make_user(engine, "alice", "csm")
    for i in range(4):
        sign_in(engine, "alice", "wrong password!", NOW + i * MIN)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 5 * MIN).outcome is users.SignInOutcome.OK
    for i in range(4):
        assert sign_in(engine, "alice", "nope nope nope", NOW + (6 + i) * MIN).outcome is users.SignInOutcome.INVALID


def test_disabled_user_cannot_sign_in_and_session_ends(engine):
    make_user(engine, "root", "admin")
    make_user(engine, "alice", "csm")
    admin = users.Actor(id=None, name="root")
    with session_scope(engine) as s:
        users.set_active(s, username="alice", active=False, actor=admin, now=NOW)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + MIN).outcome is users.SignInOutcome.DISABLED
    with session_scope(engine) as s:
        problem = users.session_problem(s, username="alice", token_expires=None, issued_at=NOW - MIN)
    assert "disabled" in problem
    with session_scope(engine) as s:
        users.set_active(s, username="alice", active=True, actor=admin, now=NOW + 2 * MIN)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 3 * MIN).outcome is users.SignInOutcome.OK


def test_create_user_gives_a_one_time_password_that_must_be_changed(engine):
    with session_scope(engine) as s:
        user, otp = users.create_user(s, username="Bob", display_name="Bob B", role="lead",
                                      actor=users.SYSTEM, now=NOW)
    assert user.username == "bob" and user.must_change_password and len(otp) == 16
    assert sign_in(engine, "bob", otp, NOW).outcome is users.SignInOutcome.OK
    with session_scope(engine) as s:
        users.change_own_password(s, user_id=user.id, current=otp, new="a brand new secret", now=NOW + MIN)
    with session_scope(engine) as s:
        assert s.get(User, user.id).must_change_password is False
        # The session that signed in with the one-time password predates the change.
        assert "changed" in users.session_problem(s, username="bob", token_expires=None, issued_at=NOW)
    assert sign_in(engine, "bob", "a brand new secret", NOW + 2 * MIN).outcome is users.SignInOutcome.OK


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"username": "x"}, "3 to 64 characters"),
        ({"username": "bad name"}, "3 to 64 characters"),
        ({"role": "boss"}, "use one of csm, lead, admin"),
        ({"email": "not-an-email"}, "not an address"),
        ({"time_zone": "Mars/Olympus"}, "IANA name"),
        ({"display_name": "  "}, "Enter the person's name"),
        ({"password": "short"}, "use at least 12"),
    ],
)
def test_create_user_refuses_bad_input_with_a_clear_message(engine, kwargs, message):
    args = {"username": "carol", "display_name": "Carol", "role": "csm", "actor": users.SYSTEM, "now": NOW}
    with pytest.raises(ValueError, match=message):
        with session_scope(engine) as s:
            users.create_user(s, **{**args, **kwargs})


def test_duplicate_username_is_refused(engine):
    make_user(engine, "alice", "csm")
    with pytest.raises(users.UserError, match="taken"):
        with session_scope(engine) as s:
            users.create_user(s, username="ALICE", display_name="A", role="csm", password=TEST_PASSWORD,
                              actor=users.SYSTEM, now=NOW)


def test_last_admin_cannot_be_demoted_or_disabled(engine):
    make_user(engine, "root", "admin")
    for change in (
        lambda s: users.set_role(s, username="root", role="csm", actor=users.SYSTEM, now=NOW),
        lambda s: users.set_active(s, username="root", active=False, actor=users.SYSTEM, now=NOW),
    ):
        with pytest.raises(users.UserError, match="last active administrator"):
            with session_scope(engine) as s:
                change(s)


def test_reset_password_unlocks_and_ends_sessions(engine):
    make_user(engine, "alice", "csm")
    for i in range(5):
        sign_in(engine, "alice", "wrong password!", NOW + i * MIN)
    with session_scope(engine) as s:
        otp = users.reset_password(s, username="alice", actor=users.SYSTEM, now=NOW + 5 * MIN)
    assert sign_in(engine, "alice", otp, NOW + 6 * MIN).outcome is users.SignInOutcome.OK
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 7 * MIN).outcome is users.SignInOutcome.INVALID


def test_revoked_cookie_is_refused(engine):
    make_user(engine, "alice", "csm")
    with session_scope(engine) as s:
        users.revoke_session(s, username="alice", token_expires=1234.5, now=NOW)
    with session_scope(engine) as s:
        assert "signed out" in users.session_problem(s, username="alice", token_expires=1234.5, issued_at=NOW)
        assert users.session_problem(s, username="alice", token_expires=999.0, issued_at=NOW) is None


def test_changes_are_audited(engine):
    make_user(engine, "root", "admin")
    make_user(engine, "alice", "csm")
    with session_scope(engine) as s:
        users.set_role(s, username="alice", role="lead", actor=users.Actor(1, "root"), now=NOW)
    with session_scope(engine) as s:
        entry = s.query(AuditEntry).filter_by(action="set_role").one()
        assert (entry.actor_name, entry.changes) == ("root", {"role": ["csm", "lead"]})
