"""``python -m core tick [--once] [--now ISO]``: run the alert scheduler from cron or as a separate worker.

One pass queues the alerts that are due, delivers what is due in the outbox and records the SLA
clocks that passed their deadline as breached (`core.alerts.scheduler.tick`). With ``--once`` it
runs one pass and prints its summary as the LAST line of standard output, exactly
``{"due": n, "sent": n, "failed": n, "retrying": n}``; without it, it runs a pass every ``--every`` seconds
(default 30) and prints one summary line per pass until interrupted. ``--now`` runs the pass as of
another moment (an ISO time with its zone; tests, replays): a moment ahead of the real time records
breaches the dashboard would then show early. Bad options exit 2 with a message. The database is the
configured one (``DATABASE_URL``); the address put into acknowledge links is ``--base-url``, else
``ESCALATION_DESK_BASE_URL``, else a guess that this command says is a guess. This module only
parses and prints; it never decides what is due and never imports streamlit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.cli import Subparsers

EXIT_USAGE = 2
DEFAULT_EVERY = 30.0
GUESSED_BASE_URL = "http://localhost:8501"
BASE_URL_ENV = "ESCALATION_DESK_BASE_URL"


def register(subparsers: Subparsers) -> None:
    """Add the `tick` command to the `python -m core` parser."""
    parser = subparsers.add_parser(
        "tick", help="queue due alerts and deliver the outbox (one pass with --once, else every N seconds)",
        description="Run the alert scheduler: queue the alerts the policies call for, then deliver what is due. "
                    'With --once the last line of output is {"due": n, "sent": n, "failed": n, "retrying": n}.')
    parser.add_argument("--once", action="store_true", help="run one pass, print its summary, exit")
    parser.add_argument("--now", metavar="ISO", help="run the pass as of this time, with its zone, "
                                                     "e.g. 2026-03-02T09:15:00Z (only with --once)")
    parser.add_argument("--every", type=float, default=DEFAULT_EVERY, metavar="SECONDS",
                        help=f"seconds between passes without --once (default {DEFAULT_EVERY:g})")
    parser.add_argument("--base-url", metavar="URL",
                        help=f"the app's address for acknowledge links (default: ${BASE_URL_ENV}, "
                             f"else {GUESSED_BASE_URL})")
    parser.set_defaults(func=command_tick)


def parse_now(text: str) -> dt.datetime:
    """An ISO-8601 time with its zone, in UTC; ValueError saying what to write otherwise."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--now {text!r} is not an ISO time; write e.g. 2026-03-02T09:15:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"--now {text!r} has no time zone; add one, e.g. {text.strip()}Z or {text.strip()}+01:00")
    return moment.astimezone(dt.UTC)


def base_url(option: str | None) -> tuple[str, bool]:
    """The app's address for links, and whether it is a guess."""
    given = (option or os.environ.get(BASE_URL_ENV) or "").strip()
    return (given.rstrip("/"), False) if given else (GUESSED_BASE_URL, True)


def command_tick(args: argparse.Namespace) -> int:
    """Run one pass (--once) or a pass every --every seconds until interrupted."""
    now = None
    if args.now is not None:
        if not args.once:
            print("--now goes with --once: a loop runs on the real clock.", file=sys.stderr)
            return EXIT_USAGE
        try:
            now = parse_now(args.now)
        except ValueError as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    if args.every <= 0:
        print(f"--every is a number of seconds above 0, e.g. {DEFAULT_EVERY:g}; got {args.every:g}.", file=sys.stderr)
        return EXIT_USAGE
    url, guessed = base_url(args.base_url)
    if guessed:
        print(f"Acknowledge links use {url}, a guess: pass --base-url or set {BASE_URL_ENV} to the address "
              "people open the app on.", file=sys.stderr)
    # The database layer and the channels load only when the command runs.
    from core.alerts import scheduler  # noqa: PLC0415
    from db.engine import get_engine  # noqa: PLC0415

    engine = get_engine()
    worker = f"tick-{socket.gethostname()}-{os.getpid()}"[:64]
    if args.once:
        summary = scheduler.tick(engine, now=now or dt.datetime.now(dt.UTC), worker=worker, base_url=url)
        print(json.dumps({key: summary[key] for key in ("due", "sent", "failed", "retrying")}))
        return 0
    try:
        while True:
            started = time.monotonic()
            summary = scheduler.tick(engine, now=dt.datetime.now(dt.UTC), worker=worker, base_url=url)
            print(json.dumps({key: summary[key] for key in ("due", "sent", "failed", "retrying")}), flush=True)
            time.sleep(max(0.0, args.every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return 0
