"""Command-line administration for a headless server: `python -m core users ...` and `init`.

Each command opens one unit of work and calls the same functions as the
Admin page, so the rules (password length, last admin, audit log) are the
same. One-time passwords are printed once and never stored in clear.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from core.people.access import Role

# The database layer (core.people.users, db.engine) is imported inside each command, not here: building the
# `python -m core` parser imports this module for every command, and loading SQLAlchemy and the models
# took longer than everything else a command like `templates check` does.
FIRST_ADMIN = "admin"


def _cli_actor():
    from core.people import users

    return users.Actor(id=None, name="cli")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `users` and `init` commands to the `python -m core` parser."""
    init = subparsers.add_parser(
        "init", help="migrate the database, create the first admin, load demo data when empty"
    )
    init.add_argument("--no-demo", action="store_true", help="do not load the demo dataset")
    init.set_defaults(func=cmd_init)

    p = subparsers.add_parser("users", help="manage users (list, add, disable, enable, reset-password, set-role)")
    sub = p.add_subparsers(dest="users_command", required=True)
    sub.add_parser("list", help="list users").set_defaults(func=cmd_list)
    add = sub.add_parser("add", help="add a user; prints a one-time password")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="the person's name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--email", default="")
    add.add_argument("--time-zone", default="UTC")
    add.set_defaults(func=cmd_add)
    for name, func, text in (
        ("disable", cmd_disable, "disable a user and end their sessions"),
        ("enable", cmd_enable, "re-enable a disabled user"),
        ("reset-password", cmd_reset, "give a user a new one-time password"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("username")
        cmd.set_defaults(func=func)
    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=[r.value for r in Role])
    role.set_defaults(func=cmd_set_role)


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def cmd_list(_args: argparse.Namespace) -> int:
    """Print every user, one per line."""
    from core.people import users
    from db.engine import read_scope

    with read_scope() as session:
        for u in users.list_users(session):
            state = "active" if u.is_active else "disabled"
            flag = " (must change password)" if u.must_change_password else ""
            print(f"{u.username}\t{u.role}\t{state}\t{u.display_name}{flag}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Add a user and print their one-time password."""
    from core.people import users
    from core.people.passwords import PasswordRuleError
    from db.engine import session_scope

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


def _change(change, done: str) -> int:
    from core.people import users
    from db.engine import session_scope

    try:
        with session_scope() as session:
            result = change(session)
    except (users.UserError, ValueError) as error:
        return _fail(error)
    print(done.format(result=result))
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable a user."""
    from core.people import users

    return _change(
        lambda s: users.set_active(s, username=args.username, active=False, actor=_cli_actor(), now=_now()),
        f"Disabled {args.username}; their sessions end at their next click.",
    )


def cmd_enable(args: argparse.Namespace) -> int:
    """Re-enable a user."""
    from core.people import users

    return _change(
        lambda s: users.set_active(s, username=args.username, active=True, actor=_cli_actor(), now=_now()),
        f"Enabled {args.username}.",
    )


def cmd_reset(args: argparse.Namespace) -> int:
    """Reset a user's password and print the new one-time password."""
    from core.people import users

    return _change(
        lambda s: users.reset_password(s, username=args.username, actor=_cli_actor(), now=_now()),
        f"New one-time password for {args.username} (shown once): {{result}}",
    )


def cmd_set_role(args: argparse.Namespace) -> int:
    """Change a user's role."""
    from core.people import users

    return _change(
        lambda s: users.set_role(s, username=args.username, role=args.role, actor=_cli_actor(), now=_now()),
        f"{args.username} is now {args.role}.",
    )


def cmd_init(args: argparse.Namespace) -> int:
    """Migrate, create the first admin when there is no user, load demo data when empty."""
    from core.people import users
    from db.engine import get_engine, session_scope
    from db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")
    from core.policy import store as policy_store

    with session_scope() as session:
        added = policy_store.install_presets(session, now=_now())
    if added:
        print(f"Installed policy presets: {', '.join(added)}")
    with session_scope() as session:
        first = None
        if not users.list_users(session):
            user, first = users.create_user(
                session, username=FIRST_ADMIN, display_name="Administrator", role=Role.ADMIN.value,
                actor=_cli_actor(), now=_now(),
            )
    if not args.no_demo:
        from core.demo import dataset as demo

        with session_scope() as session:
            summary = demo.load_if_empty(session, now=_now())
        print(summary)
    from core.sla import projection as sla_summary

    with session_scope() as session:
        # Incidents stored before the dashboard summary existed get their rows once.
        if sla_summary.summary_is_missing(session):
            print(f"Dashboard summary filled for {sla_summary.backfill(session, now=_now()):,} incidents.")
    from core.communication.cadence import backfill_client_update_due

    with session_scope() as session:
        # Open incidents stored before the client-update due time was kept get it once.
        filled = backfill_client_update_due(session, now=_now())
    if filled:
        print(f"Client-update due times filled for {filled:,} open incidents.")
    from core.incident import reviews

    with session_scope() as session:
        # Incidents resolved when reviews were scheduled on first opening, and never opened, get them once.
        scheduled = reviews.backfill_missing(session, now=_now())
    if scheduled:
        print(f"Reviews scheduled for resolved incidents that had none: {scheduled:,}.")
    if first:
        bar = "=" * 64
        print(f"\n{bar}\nFirst administrator created.\n  username: {FIRST_ADMIN}\n"
              f"  one-time password: {first}\nIt is shown only now; you choose your own at first sign-in.\n{bar}\n")
    return 0

