"""The work of the `users`, `init` and `demo-logins` commands: each opens one unit of work and calls a domain function.

The rules (password length, last admin, audit log) are the same as on the
Admin page. One-time passwords are printed once and never stored in clear.
This module imports the database layer; `core.cli.admin` loads it only when
one of its commands runs, so building the parser stays fast. It never imports
streamlit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session

from core.account import signals
from core.alerts import scheduler as alert_scheduler
from core.cli.terminal import box, table
from core.communication.cadence import backfill_client_update_due
from core.demo import dataset as demo
from core.demo import logins as demo_logins
from core.incident import reviews
from core.people import users
from core.people.access import Role
from core.people.passwords import PasswordRuleError
from core.policy import store as policy_store
from core.sla import projection as sla_summary
from db.engine import get_engine, read_scope, session_scope
from db.migrate import upgrade

FIRST_ADMIN = "admin"
# How the closing block and the messages name the commands: as typed from the repository root.
COMMAND = ".venv/bin/python -m core"


def _cli_actor() -> users.Actor:
    return users.Actor(id=None, name="cli")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def cmd_list(_args: argparse.Namespace) -> int:
    """Print every user, one per line."""
    with read_scope() as session:
        for u in users.list_users(session):
            state = "active" if u.is_active else "disabled"
            flag = " (must change password)" if u.must_change_password else ""
            print(f"{u.username}\t{u.role}\t{state}\t{u.display_name}{flag}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Add a user and print their one-time password."""
    try:
        with session_scope() as session:
            user, otp = users.create_user(
                session, username=args.username, display_name=args.name, role=args.role,
                email=args.email, time_zone=args.time_zone, actor=_cli_actor(), now=_now(),
            )
            username = user.username
    except (users.UserError, PasswordRuleError, ValueError) as error:
        return _fail(error)
    print(f"Added {username} ({args.role}). One-time password (shown once): {otp}")
    return 0


def _change(change: Callable[[Session], object], done: str) -> int:
    try:
        with session_scope() as session:
            result = change(session)
    except (users.UserError, ValueError) as error:
        return _fail(error)
    print(done.format(result=result))
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable a user."""
    return _change(
        lambda s: users.set_active(s, username=args.username, active=False, actor=_cli_actor(), now=_now()),
        f"Disabled {args.username}; their sessions end at their next click.",
    )


def cmd_enable(args: argparse.Namespace) -> int:
    """Re-enable a user."""
    return _change(
        lambda s: users.set_active(s, username=args.username, active=True, actor=_cli_actor(), now=_now()),
        f"Enabled {args.username}.",
    )


def cmd_reset(args: argparse.Namespace) -> int:
    """Reset a user's password and print the new one-time password."""
    return _change(
        lambda s: users.reset_password(s, username=args.username, actor=_cli_actor(), now=_now()),
        f"New one-time password for {args.username} (shown once): {{result}}",
    )


def cmd_set_role(args: argparse.Namespace) -> int:
    """Change a user's role."""
    return _change(
        lambda s: users.set_role(s, username=args.username, role=args.role, actor=_cli_actor(), now=_now()),
        f"{args.username} is now {args.role}.",
    )


def cmd_init(args: argparse.Namespace) -> int:
    """Migrate, create the first admin when there is no user, load demo data when empty."""
    engine = get_engine()
    upgrade(engine)
    print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")
    with session_scope() as session:
        now = _now()
        added = policy_store.install_presets(session, now=now)
        signals.refresh_stale(session, now)  # a newer shipped default may bring new early-warning rules
    if added:
        print(f"Installed policy presets: {', '.join(added)}")
    with session_scope() as session:
        first = None
        if not users.list_users(session):
            _user, first = users.create_user(
                session, username=FIRST_ADMIN, display_name="Administrator", role=Role.ADMIN.value,
                actor=_cli_actor(), now=_now(),
            )
    if not args.no_demo:
        with session_scope() as session:
            summary = demo.load_if_empty(session, now=_now())
        print(summary)
    with session_scope() as session:
        # Incidents stored before the dashboard summary existed get their rows once.
        if sla_summary.summary_is_missing(session):
            print(f"Dashboard summary filled for {sla_summary.backfill(session, now=_now()):,} incidents.")
    with session_scope() as session:
        # Open incidents stored before the client-update due time was kept get it once.
        filled = backfill_client_update_due(session, now=_now())
    if filled:
        print(f"Client-update due times filled for {filled:,} open incidents.")
    # Open incidents stored before alerts existed get their next alert moment once.
    planned = alert_scheduler.backfill(engine, now=_now())
    if planned:
        print(f"Alert schedule filled for {planned:,} open incidents.")
    with session_scope() as session:
        # Incidents resolved when reviews were scheduled on first opening, and never opened, get them once.
        scheduled = reviews.backfill_missing(session, now=_now())
    if scheduled:
        print(f"Reviews scheduled for resolved incidents that had none: {scheduled:,}.")
    with read_scope() as session:
        demo_team = demo_logins.demo_team_present(session)
        admin = users.get_by_username(session, FIRST_ADMIN)
        admin_waiting = admin is not None and admin.must_change_password
        admin_there = admin is not None
    print()
    print(box(_closing_lines(url=args.url, first_password=first, admin_there=admin_there,
                             admin_waiting=admin_waiting, demo_team=demo_team)))
    return 0


def _closing_lines(*, url: str | None, first_password: str | None, admin_there: bool, admin_waiting: bool,
                   demo_team: bool) -> list[str]:
    """What `init` ends with, framed: where the app is, how the admin signs in, how to try the demo roles."""
    lines = [f"Escalation Desk: {url}" if url else "Escalation Desk is ready: serve it with `make run`.", ""]
    reset = f"  {COMMAND} users reset-password {FIRST_ADMIN if admin_there else 'USERNAME'}"
    if first_password:
        lines += ["First administrator:",
                  f"  username: {FIRST_ADMIN}",
                  f"  one-time password: {first_password}",
                  "  (shown only now; you choose your own at first sign-in)"]
    elif admin_waiting:
        # Its first password was printed by an earlier init and is never stored in clear.
        lines += [f"{FIRST_ADMIN} has not signed in yet; its first password was shown only once.",
                  "A new one:", reset]
    elif admin_there:
        lines += [f"Sign in as {FIRST_ADMIN} with the password you chose. Forgotten?", reset]
    else:
        lines += ["Administrators sign in with the password they chose. Forgotten?", reset]
    if demo_team:
        lines += ["", "Try the demo team's CSM, lead and admin:", f"  {COMMAND} demo-logins"]
    return lines


def cmd_demo_logins(_args: argparse.Namespace) -> int:
    """Give the demo CSM, lead and admin new one-time passwords and print them in a table."""
    try:
        with session_scope() as session:
            logins, missing = demo_logins.reset_demo_logins(session, actor=_cli_actor(), now=_now())
    except demo_logins.DemoTeamMissing as error:
        return _fail(error)
    print("Demo sign-ins, one per role. Each one-time password is shown only now; at first sign-in")
    print("its user chooses their own. Running this again gives new ones.\n")
    print(table(["username", "role", "name", "one-time password"],
                [[login.username, login.role.value, login.name, login.one_time_password] for login in logins]))
    for login in logins:
        if not login.active:
            print(f"\n{login.username} is disabled and cannot sign in: {COMMAND} users enable {login.username}")
    if missing:
        print(f"\nNo demo user called {' or '.join(missing)} in this database: not reset.")
    return 0


# The commands `core.cli.admin` registers, by the name typed after `python -m core` (or `users`).
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "list": cmd_list,
    "add": cmd_add,
    "disable": cmd_disable,
    "enable": cmd_enable,
    "reset-password": cmd_reset,
    "set-role": cmd_set_role,
    "demo-logins": cmd_demo_logins,
}
