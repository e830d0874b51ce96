"""Sign-in rules, throttling and user administration, on SQLite and PostgreSQL."""

import datetime as dt
import multiprocessing
import os

import pytest
from sqlalchemy import func, select

from core.people import lockout, users
from core.people.passwords import PasswordRuleError, check_password_rules
from db.engine import make_engine, session_scope
from db.models import AuditEntry, LoginDelay, LoginThrottle, User
from tests.conftest import NOW, TEST_PASSWORD, clean_main_module, make_user

MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)
KEY = "device-key-for-tests"
A, B = "203.0.113.7", "198.51.100.23"
WRONG = "wrong password!"
Outcome = lockout.SignInOutcome


def sign_in(engine, username, password, at, client=A, token=None):
    with session_scope(engine) as s:
        return lockout.authenticate(s, username=username, password=password, now=at, client=client,
                                  device_token=token, device_key=KEY)


def fail_from(engine, username, client, count, start=NOW, step=MIN):
    """`count` failures from one client, `step` apart (enough for the username delay to pass)."""
    return [sign_in(engine, username, WRONG, start + i * step, client).outcome for i in range(count)]


def throttle_rows(engine):
    with session_scope(engine) as s:
        pairs = sorted((r.username, r.client) for r in s.scalars(select(LoginThrottle)))
        delays = sorted(s.scalars(select(LoginDelay.username)))
    return pairs, delays


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
    assert result.outcome is lockout.SignInOutcome.OK and result.user_id is not None


@pytest.mark.parametrize("who", ["alice", "nobody"])
def test_five_failures_from_one_address_lock_that_address_only(engine, who):
    make_user(engine, "alice", "csm")
    assert fail_from(engine, who, A, 5) == [Outcome.INVALID] * 4 + [Outcome.LOCKED]
    # Locked from A even with the right password, until 15 minutes after the 5th failure.
    locked = sign_in(engine, who, TEST_PASSWORD, NOW + 10 * MIN, A)
    assert locked.outcome is Outcome.LOCKED
    assert locked.locked_until == NOW + 4 * MIN + lockout.LOCK_DURATION
    assert "locked here until" in locked.message and "this address" in locked.message
    # Another address is not locked: alice signs in, an unknown name is just wrong.
    elsewhere = sign_in(engine, who, TEST_PASSWORD, NOW + 10 * MIN, B)
    assert elsewhere.outcome is (Outcome.OK if who == "alice" else Outcome.INVALID)
    after = sign_in(engine, who, TEST_PASSWORD, NOW + 19 * MIN + SEC, A)
    assert after.outcome is (Outcome.OK if who == "alice" else Outcome.INVALID)


def test_failures_spread_over_more_than_the_window_do_not_lock(engine):
    make_user(engine, "alice", "csm")
    assert fail_from(engine, "alice", A, 8, step=4 * MIN) == [Outcome.INVALID] * 8
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 40 * MIN).outcome is Outcome.OK


def test_success_resets_the_failure_count(engine):
    make_user(engine, "alice", "csm")
    fail_from(engine, "alice", A, 4)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 5 * MIN).outcome is Outcome.OK
    assert fail_from(engine, "alice", A, 4, start=NOW + 6 * MIN) == [Outcome.INVALID] * 4


@pytest.mark.parametrize(
    "failures, delay_s",
    [(0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (7, 30), (50, 30), (10_000, 30)],
)
def test_username_delay_doubles_up_to_thirty_seconds(failures, delay_s):
    assert lockout.login_delay(failures) == dt.timedelta(seconds=delay_s)


def test_username_delay_from_many_addresses_never_locks(engine):
    make_user(engine, "alice", "csm")
    at, waits = NOW, []
    for i in range(9):  # each failure from a new address: no pair ever reaches five
        result = sign_in(engine, "alice", WRONG, at, f"10.0.0.{i}")
        assert result.outcome is Outcome.INVALID, i
        waits.append(int((result.retry_after - at).total_seconds()))
        # A try before the delay is over is refused without checking the password or counting.
        early = sign_in(engine, "alice", TEST_PASSWORD, result.retry_after - SEC, "10.1.0.1")
        assert early.outcome is Outcome.WAIT, i
        assert "wait 1 s before trying again" in early.message
        at = result.retry_after
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30, 30]
    with session_scope(engine) as s:
        assert s.get(LoginDelay, "alice").failures == 9
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "locked")) == 0
    # Once the delay has passed, the right password works from anywhere, and the doubling starts over.
    assert sign_in(engine, "alice", TEST_PASSWORD, at, "10.2.0.1").outcome is Outcome.OK
    again = sign_in(engine, "alice", WRONG, at + SEC, "10.2.0.1")
    assert again.retry_after - (at + SEC) == SEC


def test_wait_message_counts_the_seconds_left(engine):
    make_user(engine, "alice", "csm")
    for i in range(4):
        sign_in(engine, "alice", WRONG, NOW + i * MIN, f"10.0.0.{i}")  # 4th failure: 8 s delay
    early = sign_in(engine, "alice", TEST_PASSWORD, NOW + 3 * MIN + 2.5 * SEC, B)
    assert (early.outcome, early.retry_after) == (Outcome.WAIT, NOW + 3 * MIN + 8 * SEC)
    assert "wait 6 s before trying again" in early.message


def _token(username="alice", at=NOW - dt.timedelta(days=1), key=KEY):
    return lockout.issue_device_token(username, key=key, now=at)


def _changed_date(token):
    name, issued, signature = token.split(".")
    return f"{name}.{int(issued) + 3600}.{signature}"


@pytest.mark.parametrize(
    "token, trusted",
    [
        (_token(), True),
        (_token(at=NOW - dt.timedelta(days=29, hours=23)), True),
        (_token(at=NOW - dt.timedelta(days=30, minutes=1)), False),  # older than 30 days
        (_token(at=NOW + dt.timedelta(hours=1)), False),  # issued in the future
        (_token(username="bob"), False),  # another user's browser
        (_token(key="another key"), False),  # signed with another key
        (_token()[:-1] + "0", False),  # signature altered
        (_changed_date(_token()), False),  # date altered, signature kept
        ("alice.1772400000", False),
        ("", False),
        (None, False),
    ],
    ids=["valid", "29 days", "31 days", "future", "other user", "other key", "bad signature",
         "changed date", "unsigned", "empty", "none"],
)
def test_device_token_lets_its_browser_past_others_lock_and_delay(engine, token, trusted):
    make_user(engine, "alice", "csm")
    make_user(engine, "bob", "csm")
    # Someone at address A guesses alice's password until A is locked; the delay then stands at 16 s.
    assert fail_from(engine, "alice", A, 5, step=20 * SEC)[-1] is Outcome.LOCKED
    just_after = NOW + 81 * SEC
    # At another address, a second after the 5th failure: the username's 16 s delay is running.
    delayed = sign_in(engine, "alice", TEST_PASSWORD, just_after, B, token)
    assert delayed.outcome is (Outcome.OK if trusted else Outcome.WAIT)
    # At address A itself, where the lock is.
    at_a = sign_in(engine, "alice", TEST_PASSWORD, just_after, A, token)
    assert at_a.outcome is (Outcome.OK if trusted else Outcome.LOCKED)
    # Whatever the token, the attacker at A (no token) stays locked.
    assert sign_in(engine, "alice", TEST_PASSWORD, just_after, A).outcome is Outcome.LOCKED


def test_successful_sign_in_issues_a_device_token_for_thirty_days(engine):
    make_user(engine, "alice", "csm")
    result = sign_in(engine, "alice", TEST_PASSWORD, NOW)
    assert result.outcome is Outcome.OK
    assert lockout.device_client(result.device_token, username="ALICE", key=KEY, now=NOW + 29 * 24 * 60 * MIN)
    assert lockout.device_client(result.device_token, username="alice", key=KEY, now=NOW + 31 * 24 * 60 * MIN) is None
    with session_scope(engine) as s:
        no_key = lockout.authenticate(s, username="alice", password=TEST_PASSWORD, now=NOW, client=A)
    assert no_key.outcome is Outcome.OK and no_key.device_token is None
    assert sign_in(engine, "alice", WRONG, NOW + MIN).device_token is None


def test_a_trusted_browser_is_locked_by_its_own_failures_only(engine):
    make_user(engine, "alice", "csm")
    token = _token()
    outcomes = [sign_in(engine, "alice", WRONG, NOW + i * SEC, A, token).outcome for i in range(5)]
    # No waiting between its own tries (the delay is for the others), but five lock it.
    assert outcomes == [Outcome.INVALID] * 4 + [Outcome.LOCKED]
    locked = sign_in(engine, "alice", TEST_PASSWORD, NOW + 10 * SEC, A, token)
    assert locked.outcome is Outcome.LOCKED and "this browser" in locked.message
    # The address itself was not locked by the browser's failures (only the delay applies there).
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 31 * SEC, A).outcome is Outcome.OK


def test_refused_and_successful_tries_leave_no_row(engine):
    make_user(engine, "alice", "csm")
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW).outcome is Outcome.OK
    assert throttle_rows(engine) == ([], [])
    sign_in(engine, "alice", WRONG, NOW + MIN, A)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + MIN, B).outcome is Outcome.WAIT
    assert throttle_rows(engine) == ([("alice", A)], ["alice"])


@pytest.mark.parametrize("name", ["x" * 65, "bad name", "ab", "ünïcode"])
def test_a_name_no_account_can_have_is_refused_without_a_row(engine, name):
    result = sign_in(engine, name, WRONG, NOW)
    assert result.outcome is Outcome.INVALID and result.message == "Username or password is incorrect."
    assert throttle_rows(engine) == ([], [])


def test_rows_older_than_a_day_are_deleted_by_the_next_attempt(engine):
    make_user(engine, "alice", "csm")
    make_user(engine, "bob", "csm")
    fail_from(engine, "alice", A, 5)  # a lock, for alice from A
    fail_from(engine, "nobody", B, 3)  # an unknown username
    fail_from(engine, "ghost", A, 1, start=NOW + 20 * 60 * MIN)  # stays: it is recent
    day_later = NOW + 10 * MIN + lockout.THROTTLE_MEMORY
    # Just under a day after their last failure, the rows are still there...
    sign_in(engine, "bob", TEST_PASSWORD, NOW + lockout.THROTTLE_MEMORY)
    assert throttle_rows(engine) == ([("alice", A), ("ghost", A), ("nobody", B)], ["alice", "ghost", "nobody"])
    # ...and the first attempt of anyone after that deletes them.
    assert sign_in(engine, "bob", TEST_PASSWORD, day_later).outcome is Outcome.OK
    assert throttle_rows(engine) == ([("ghost", A)], ["ghost"])


@pytest.mark.parametrize(
    "remote, forwarded, expected",
    [
        (None, None, "local"),
        ("203.0.113.7", None, "203.0.113.7"),
        ("10.0.0.2", "198.51.100.23", "198.51.100.23"),
        ("10.0.0.2", "1.2.3.4, 198.51.100.23", "198.51.100.23"),  # the proxy's entry is the last
        ("10.0.0.2", "198.51.100.23,not-an-ip", "10.0.0.2"),  # never the browser's own claim
        ("10.0.0.2", "", "10.0.0.2"),
        (None, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("garbage", None, "local"),
    ],
)
def test_client_address(remote, forwarded, expected):
    assert lockout.client_address(remote, forwarded) == expected


def _attempts(url: str, attempts: list, barrier, results) -> None:
    """One app process: run sign-in attempts [(username, password, iso time, client)] in order."""
    engine = make_engine(url)
    if barrier is not None:
        barrier.wait(timeout=60)
    outcomes = []
    for username, password, at, client in attempts:
        with session_scope(engine) as s:
            outcomes.append(lockout.authenticate(s, username=username, password=password,
                                               now=dt.datetime.fromisoformat(at), client=client).outcome.value)
    engine.dispose()
    results.put((os.getpid(), outcomes))


def _run_processes(engine, plans, *, together):
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    barrier = ctx.Barrier(len(plans)) if together else None
    procs = [ctx.Process(target=_attempts, args=(url, plan, barrier, results)) for plan in plans]
    collected = []
    with clean_main_module():
        for proc in procs:
            proc.start()
            if not together:  # one after the other: each sees what the previous one stored
                collected.append(results.get(timeout=240))
                proc.join(timeout=60)
    if together:
        collected = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len({pid for pid, _ in collected}) == len(plans)
    return [outcomes for _, outcomes in collected]


def _plan(username, password, client, minutes):
    return [(username, password, (NOW + m * MIN).isoformat(), client) for m in minutes]


@pytest.mark.slow  # starts two app processes
def test_two_processes_share_the_count_for_an_address(engine):
    make_user(engine, "alice", "csm")
    first, second = _run_processes(engine, [
        _plan("alice", WRONG, A, [0, 1, 2]),
        _plan("alice", WRONG, A, [3, 4]) + _plan("alice", TEST_PASSWORD, A, [5]),
    ], together=False)
    assert first == ["invalid"] * 3
    assert second == ["invalid", "locked", "locked"]
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 5 * MIN, B).outcome is Outcome.OK


@pytest.mark.slow  # starts two app processes
def test_two_processes_at_once_share_the_username_delay(engine):
    make_user(engine, "alice", "csm")
    # Rows that already exist: the processes must lock them, not just insert them, to agree.
    fail_from(engine, "alice", A, 1, start=NOW - MIN)
    fail_from(engine, "alice", B, 1, start=NOW - MIN / 2)
    # 2 processes x 10 wrong passwords at the same instant, each from its own address:
    # the first one counted starts a 4 s delay that refuses all the others, whoever they are.
    plans = [_plan("alice", WRONG, A, [0] * 10), _plan("alice", WRONG, B, [0] * 10)]
    outcomes = [o for one in _run_processes(engine, plans, together=True) for o in one]
    assert sorted(outcomes) == ["invalid"] + ["wait"] * 19
    with session_scope(engine) as s:
        assert s.get(LoginDelay, "alice").failures == 3
        assert sum(r.failures for r in s.scalars(select(LoginThrottle))) == 3
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 4 * SEC, "10.9.9.9").outcome is Outcome.OK


def test_disabled_user_cannot_sign_in_and_session_ends(engine):
    make_user(engine, "root", "admin")
    make_user(engine, "alice", "csm")
    admin = users.Actor(id=None, name="root")
    with session_scope(engine) as s:
        users.set_active(s, username="alice", active=False, actor=admin, now=NOW)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + MIN).outcome is lockout.SignInOutcome.DISABLED
    with session_scope(engine) as s:
        problem = users.session_problem(s, username="alice", token_expires=None, issued_at=NOW - MIN)
    assert "disabled" in problem
    with session_scope(engine) as s:
        users.set_active(s, username="alice", active=True, actor=admin, now=NOW + 2 * MIN)
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 3 * MIN).outcome is lockout.SignInOutcome.OK


def test_create_user_gives_a_one_time_password_that_must_be_changed(engine):
    with session_scope(engine) as s:
        user, otp = users.create_user(s, username="Bob", display_name="Bob B", role="lead",
                                      actor=users.SYSTEM, now=NOW)
    assert user.username == "bob" and user.must_change_password and len(otp) == 16
    assert sign_in(engine, "bob", otp, NOW).outcome is lockout.SignInOutcome.OK
    with session_scope(engine) as s:
        users.change_own_password(s, user_id=user.id, current=otp, new="a brand new secret", now=NOW + MIN)
    with session_scope(engine) as s:
        assert s.get(User, user.id).must_change_password is False
        # The session that signed in with the one-time password predates the change.
        assert "changed" in users.session_problem(s, username="bob", token_expires=None, issued_at=NOW)
    assert sign_in(engine, "bob", "a brand new secret", NOW + 2 * MIN).outcome is lockout.SignInOutcome.OK


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
    with pytest.raises(ValueError, match=message), session_scope(engine) as s:
        users.create_user(s, **{**args, **kwargs})


def test_duplicate_username_is_refused(engine):
    make_user(engine, "alice", "csm")
    with pytest.raises(users.UserError, match="taken"), session_scope(engine) as s:
        users.create_user(s, username="ALICE", display_name="A", role="csm", password=TEST_PASSWORD,
                          actor=users.SYSTEM, now=NOW)


def test_last_admin_cannot_be_demoted_or_disabled(engine):
    make_user(engine, "root", "admin")
    for change in (
        lambda s: users.set_role(s, username="root", role="csm", actor=users.SYSTEM, now=NOW),
        lambda s: users.set_active(s, username="root", active=False, actor=users.SYSTEM, now=NOW),
    ):
        with pytest.raises(users.UserError, match="last active administrator"), session_scope(engine) as s:
            change(s)


def test_reset_password_unlocks_and_ends_sessions(engine):
    make_user(engine, "alice", "csm")
    fail_from(engine, "alice", A, 5)
    fail_from(engine, "alice", B, 1, start=NOW + 5 * MIN)
    with session_scope(engine) as s:
        otp = users.reset_password(s, username="alice", actor=users.SYSTEM, now=NOW + 5 * MIN)
    assert throttle_rows(engine) == ([], [])
    assert sign_in(engine, "alice", otp, NOW + 5 * MIN, A).outcome is Outcome.OK
    assert sign_in(engine, "alice", TEST_PASSWORD, NOW + 7 * MIN).outcome is Outcome.INVALID


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
