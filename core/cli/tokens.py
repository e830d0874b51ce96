"""``python -m core tokens add|list|revoke``, ``routing-key`` and ``sources add|list``: API access from the shell.

``tokens add NAME --scope intake|read|write [--user USERNAME] [--expires-in-days N]`` makes a token
acting as USERNAME (default: the first admin, ``admin``) and prints it ALONE on the last line of
standard output, once: it is stored only as a digest and can never be shown again. ``tokens list``
shows every token (prefix, scope, user, state, last use; never a secret); ``tokens revoke ID`` ends one
for good. ``routing-key ACCOUNT KEY`` sets the key monitoring tools name an account with in alerts
(``--clear`` removes it). ``sources add NAME --settings FILE`` adds a signed-webhook source and prints
its secret alone on the last line, once; ``sources list`` lists them; ``sources edit NAME [--settings FILE]
[--user USERNAME] [--signature-header HEADER]`` changes one; ``sources disable|enable NAME`` stops or
resumes its webhook; ``sources rotate-secret NAME`` gives it a new secret, printed alone on the last
line, once (the old one stops working at once). The shell acts as an
administrator, like ``users``. Bad input exits 2 with a message saying what to fix. This module
only parses and prints; the rules are in ``core.api``; it never imports streamlit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.cli import Subparsers

T = TypeVar("T")

EXIT_USAGE = 2
DEFAULT_USER = "admin"


def register(subparsers: Subparsers) -> None:
    """Add the `tokens`, `routing-key` and `sources` commands to the `python -m core` parser."""
    parser = subparsers.add_parser("tokens", help="manage API tokens (add, list, revoke)")
    sub = parser.add_subparsers(dest="tokens_command", required=True)
    add = sub.add_parser(
        "add", help="make an API token; prints it alone on the last line, once",
        description="Make an API token acting as a user. The token is printed once, alone on the last line: "
                    "copy it now, it is stored only as a digest.")
    add.add_argument("name", metavar="NAME", help="what the token is for, e.g. grafana-prod")
    add.add_argument("--scope", required=True, metavar="intake|read|write",
                     help="intake: send alerts only; read: reads only; write: reads, alerts and changes")
    add.add_argument("--user", default=DEFAULT_USER, metavar="USERNAME",
                     help=f"the user the token acts as; it never exceeds their rights (default {DEFAULT_USER})")
    add.add_argument("--expires-in-days", type=int, default=None, metavar="N",
                     help="the token stops working after N days (default: never)")
    add.set_defaults(func=command_add)
    sub.add_parser("list", help="list API tokens (never their secrets)").set_defaults(func=command_list)
    revoke = sub.add_parser("revoke", help="revoke an API token for good")
    revoke.add_argument("token_id", type=int, metavar="ID", help="the token's id, from `tokens list`")
    revoke.set_defaults(func=command_revoke)

    routing = subparsers.add_parser(
        "routing-key", help="set the key that names an account in alerts (POST /api/v1/alerts)",
        description="Set the routing key monitoring tools name an account with in alerts, instead of its id: "
                    "8 to 64 letters, digits, dashes or underscores, unique across accounts.")
    routing.add_argument("account", metavar="ACCOUNT", help="the account's name or id")
    routing.add_argument("key", metavar="KEY", nargs="?", default=None, help="the routing key")
    routing.add_argument("--clear", action="store_true", help="remove the account's routing key")
    routing.set_defaults(func=command_routing_key)

    sources = subparsers.add_parser("sources", help="manage alert sources: signed webhooks of helpdesks and monitors")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)
    add_source = sources_sub.add_parser(
        "add", help="add an alert source; prints its signing secret alone on the last line, once",
        description="Add an alert source from a JSON settings file ({\"mapping\": {\"dedup_key\": \"ticket.id\", "
                    "\"title\": \"ticket.subject\", ...}, \"policy\": ..., \"routing_key\": ...}). Its webhook "
                    "address is /api/v1/sources/NAME/events.")
    add_source.add_argument("name", metavar="NAME", help="e.g. zendesk (part of the webhook address)")
    add_source.add_argument("--settings", required=True, metavar="FILE", help="the source's settings as JSON")
    add_source.add_argument("--user", default=DEFAULT_USER, metavar="USERNAME",
                            help=f"the user its events act as (default {DEFAULT_USER})")
    add_source.add_argument("--signature-header", default="X-Signature", metavar="HEADER",
                            help="the header carrying the HMAC-SHA256 signature (default X-Signature)")
    add_source.set_defaults(func=command_sources_add)
    sources_sub.add_parser("list", help="list alert sources (never their secrets)").set_defaults(
        func=command_sources_list)
    edit = sources_sub.add_parser(
        "edit", help="change an alert source's settings, user or signature header",
        description="Change what is given; the rest stays. The settings file replaces the source's settings whole.")
    edit.add_argument("name", metavar="NAME", help="the source's name, from `sources list`")
    edit.add_argument("--settings", default=None, metavar="FILE", help="the source's new settings as JSON")
    edit.add_argument("--user", default=None, metavar="USERNAME", help="the user its events act as from now on")
    edit.add_argument("--signature-header", default=None, metavar="HEADER",
                      help="the header carrying the HMAC-SHA256 signature")
    edit.set_defaults(func=command_sources_edit)
    for verb, enabled, text in [("disable", False, "stop taking a source's events (its webhook answers 404)"),
                                ("enable", True, "take a disabled source's events again")]:
        toggle = sources_sub.add_parser(verb, help=text)
        toggle.add_argument("name", metavar="NAME", help="the source's name, from `sources list`")
        toggle.set_defaults(func=command_sources_edit, enabled=enabled, settings=None, user=None,
                            signature_header=None)
    rotate = sources_sub.add_parser(
        "rotate-secret", help="give a source a new signing secret; prints it alone on the last line, once",
        description="Make a new signing secret for a source. The old one stops working at once: give the new one "
                    "to the sender straight away.")
    rotate.add_argument("name", metavar="NAME", help="the source's name, from `sources list`")
    rotate.set_defaults(func=command_sources_rotate)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Refused(Exception):
    """A command's input was refused: its message is printed and the command exits 2."""


def _write(work: Callable[[Session], T], refusals: tuple[type[Exception], ...]) -> T:
    """Run `work` in one unit of work; a refusal (one of `refusals`) rolls it back and becomes `_Refused`."""
    from db.engine import session_scope  # noqa: PLC0415 -- the database layer loads only when a command runs

    try:
        with session_scope() as session:
            return work(session)
    except refusals as error:
        raise _Refused(str(error)) from error


def _settings_file(path: str) -> Any:
    """The JSON settings a source command was given, or `_Refused` saying why the file cannot be read."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _Refused(f"cannot read the settings file {path}: {error}") from error


def refusals_exit_2(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Print a refused command's message as `error: ...` on standard error and exit 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _Refused as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE

    return run


@refusals_exit_2
def command_add(args: argparse.Namespace) -> int:
    """Make a token and print it, alone, on the last line."""
    from core.api import tokens  # noqa: PLC0415 -- the database layer loads only when a command runs

    made = _write(lambda session: tokens.create(
        session, name=args.name, scope=args.scope, username=args.user, actor=tokens.shell_actor(), now=_now(),
        expires_in_days=args.expires_in_days), (tokens.TokenError,))
    print(f"API token {made.id} '{args.name.strip()}' ({args.scope.strip().lower()}, acting as {args.user}). "
          "Copy it now: it is not stored and cannot be shown again.")
    print(made.token)
    return 0


def command_list(args: argparse.Namespace) -> int:
    """Print every token as a table."""
    from core.api import tokens  # noqa: PLC0415
    from core.cli.terminal import table  # noqa: PLC0415
    from db.engine import read_scope  # noqa: PLC0415

    now = _now()
    with read_scope() as session:
        rows = tokens.list_tokens(session)
    if not rows:
        print("No API tokens yet: `python -m core tokens add NAME --scope intake|read|write` makes one.")
        return 0

    def when(moment: dt.datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"

    print(table(["id", "name", "prefix", "scope", "user", "state", "expires (UTC)", "last used (UTC)"],
                [[str(r.id), r.name, r.prefix + "…", r.scope, r.username, r.state(now), when(r.expires_at),
                  when(r.last_used_at)] for r in rows]))
    return 0


@refusals_exit_2
def command_revoke(args: argparse.Namespace) -> int:
    """Revoke one token."""
    from core.api import tokens  # noqa: PLC0415

    row = _write(lambda session: tokens.revoke(session, token_id=args.token_id, actor=tokens.shell_actor(),
                                               now=_now()), (tokens.TokenError,))
    print(f"API token {row.id} '{row.name}' is revoked: calls with it are refused from now on.")
    return 0


@refusals_exit_2
def command_sources_add(args: argparse.Namespace) -> int:
    """Add a source and print its secret, alone, on the last line."""
    from core.api import sources, tokens  # noqa: PLC0415

    settings = _settings_file(args.settings)
    made = _write(lambda session: sources.add_source(
        session, name=args.name, username=args.user, settings=settings, actor=tokens.shell_actor(), now=_now(),
        signature_header=args.signature_header), (sources.SourceError,))
    print(f"Alert source {made.id} '{args.name.strip().lower()}': webhook /api/v1/sources/"
          f"{args.name.strip().lower()}/events, signed with HMAC-SHA256 in {args.signature_header}. "
          "Its secret (give it to the sender; it is not shown again):")
    print(made.secret)
    return 0


def command_sources_list(args: argparse.Namespace) -> int:
    """Print every source as a table."""
    from core.api import sources  # noqa: PLC0415
    from core.cli.terminal import table  # noqa: PLC0415
    from db.engine import read_scope  # noqa: PLC0415

    with read_scope() as session:
        rows = sources.list_sources(session)
    if not rows:
        print("No alert sources yet: `python -m core sources add NAME --settings FILE` adds one.")
        return 0
    print(table(["id", "name", "user", "signature header", "enabled", "policy"],
                [[str(r.id), r.name, r.username, r.signature_header, "yes" if r.is_enabled else "no",
                  r.policy or "team default"] for r in rows]))
    return 0


@refusals_exit_2
def command_sources_edit(args: argparse.Namespace) -> int:
    """Change a source (edit, disable, enable) and say what it is now."""
    from core.api import sources, tokens  # noqa: PLC0415

    enabled = getattr(args, "enabled", None)
    if args.settings is None and args.user is None and args.signature_header is None and enabled is None:
        raise _Refused("say what to change: --settings FILE, --user USERNAME or --signature-header HEADER.")
    settings = None if args.settings is None else _settings_file(args.settings)
    row = _write(lambda session: sources.change_source(
        session, name=args.name, actor=tokens.shell_actor(), now=_now(), settings=settings, username=args.user,
        signature_header=args.signature_header, enabled=enabled), (sources.SourceError,))
    print(f"Alert source {row.id} '{row.name}': " + ("enabled" if row.is_enabled else "disabled (its webhook answers "
                                                                                      "404)")
          + f", acting as {row.username}, signed in {row.signature_header}, policy {row.policy or 'team default'}.")
    return 0


@refusals_exit_2
def command_sources_rotate(args: argparse.Namespace) -> int:
    """Give a source a new secret and print it, alone, on the last line."""
    from core.api import sources, tokens  # noqa: PLC0415

    made = _write(lambda session: sources.rotate_secret(session, name=args.name, actor=tokens.shell_actor(),
                                                        now=_now()), (sources.SourceError,))
    print(f"Alert source {made.id} '{args.name.strip().lower()}' has a new secret; the old one no longer works. "
          "Give it to the sender (it is not shown again):")
    print(made.secret)
    return 0


@refusals_exit_2
def command_routing_key(args: argparse.Namespace) -> int:
    """Set or clear an account's routing key."""
    from core.account.routing import RoutingKeyError, set_routing_key  # noqa: PLC0415
    from core.api import tokens  # noqa: PLC0415

    if (args.key is None) != args.clear:
        raise _Refused("give the KEY, or --clear to remove the account's key (not both).")
    account = _write(lambda session: set_routing_key(
        session, account=args.account, key=None if args.clear else args.key, actor=tokens.shell_actor(),
        now=_now()), (RoutingKeyError,))
    print(f"Account {account.id} '{account.name}': " + (f"routing key {account.routing_key}."
                                                        if account.routing_key else "no routing key."))
    return 0
