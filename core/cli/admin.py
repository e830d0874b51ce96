"""Command-line administration for a headless server: the `users ...`, `init` and `demo-logins` parsers.

Each command's work is in `core.cli.administration`, which calls the same
functions as the Admin page, so the rules (password length, last admin,
audit log) are the same. One-time passwords are printed once and never
stored in clear. This module only builds the parser; it never imports
streamlit.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.people.access import Role

if TYPE_CHECKING:
    from core.cli import Subparsers

# A command's handler: the parsed arguments in, the exit code out.
Handler = Callable[[argparse.Namespace], int]


def _deferred(command: str) -> Handler:
    """The handler of `command`, whose module (and the database layer) is imported only when it runs."""

    def run(args: argparse.Namespace) -> int:
        # Building the `python -m core` parser registers these commands for every command; loading
        # SQLAlchemy and the models took longer than everything else a command like `templates check` does.
        from core.cli import administration  # noqa: PLC0415 -- keeps the database layer off the parser's start-up

        return administration.COMMANDS[command](args)

    return run


def register(subparsers: Subparsers) -> None:
    """Add the `users` and `init` commands to the `python -m core` parser."""
    init = subparsers.add_parser(
        "init", help="migrate the database, create the first admin, load demo data when empty"
    )
    init.add_argument("--no-demo", action="store_true", help="do not load the demo dataset")
    init.add_argument("--url", default=None,
                      help="the address the app will be served at, shown in the closing summary (make run gives it)")
    init.set_defaults(func=_deferred("init"))

    demo = subparsers.add_parser(
        "demo-logins", help="give the demo CSM, lead and admin new one-time passwords and print them",
        description="Reset the demo team's CSM, lead and admin to new one-time passwords and print them "
                    "(username, role, name, password). They must still choose their own at first sign-in. "
                    "Exits 2 when the demo data is not in the database.")
    demo.set_defaults(func=_deferred("demo-logins"))

    p = subparsers.add_parser("users", help="manage users (list, add, disable, enable, reset-password, set-role)")
    sub = p.add_subparsers(dest="users_command", required=True)
    sub.add_parser("list", help="list users").set_defaults(func=_deferred("list"))
    add = sub.add_parser("add", help="add a user; prints a one-time password")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="the person's name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--email", default="")
    add.add_argument("--time-zone", default=None,
                     help="an IANA zone such as Europe/Paris; without it the person's browser zone is shown "
                          "until they set one on their profile")
    add.set_defaults(func=_deferred("add"))
    for name, text in (
        ("disable", "disable a user and end their sessions"),
        ("enable", "re-enable a disabled user"),
        ("reset-password", "give a user a new one-time password"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("username")
        cmd.set_defaults(func=_deferred(name))
    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=[r.value for r in Role])
    role.set_defaults(func=_deferred("set-role"))
