"""``python -m core templates check FILE``: check one message template file the way the editor does.

FILE is one part of a message: a name ending in ``.html.j2``, ``.html`` or
``.htm`` is the HTML part, anything else the plain-text part. The check is
the one run before a template is saved in *Admin › Message templates*:
syntax, filters, the fields the audience may use, and sample renders in the
same isolated worker process (core.communication.worker), under the same time and
memory limits. Exit 0 and print nothing when the file is fine; exit 2 with
one line per problem on standard error, ``FILE:LINE: what to fix`` (line 1
when a problem concerns the whole file). This module only reads the file and
prints; the checking is core.communication.render.check_part. It never imports
streamlit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core.cli import Subparsers

EXIT_PROBLEMS = 2
HTML_SUFFIXES = (".html.j2", ".html", ".htm")


def register(subparsers: Subparsers) -> None:
    """Add the `templates check` command to the `python -m core` parser."""
    templates = subparsers.add_parser("templates", help="check message template files",
                                      description="Message template files.")
    actions = templates.add_subparsers(dest="templates_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="check one template file as the editor does (exit 2 listing each problem)",
        description="Check one template file (HTML part for .html.j2/.html/.htm, plain text otherwise): "
                    "syntax, allowed fields, sample renders in the isolated worker. Prints FILE:LINE: problem "
                    "on stderr and exits 2, or exits 0 silently.")
    check.add_argument("file", metavar="FILE", help="the template file")
    check.add_argument("--audience", choices=("client", "internal"), default="client",
                       help="who reads the message: client templates may not use internal fields (default: client)")
    check.add_argument("--channel", choices=("email", "phone"), default="email",
                       help="email (text or HTML part) or phone (a script: plain text only) (default: email)")
    check.set_defaults(func=command_check)


def template_problems(path: Path, *, audience: Literal["client", "internal"], channel: str) -> list[tuple[int, str]]:
    """(line, what to fix) for every problem in the template file at `path`; [] when it is fine."""
    # The worker and the message model import Jinja and pydantic models: only this command pays for them.
    from core.communication import worker as template_worker  # noqa: PLC0415 -- heavy, off the parser's start-up

    template_worker.pool().prestart()  # the worker loads while this process imports the message model
    from core.communication.catalog import check_part  # noqa: PLC0415 -- imported after prestart() on purpose

    part: Literal["html", "text"] = "html" if path.name.lower().endswith(HTML_SUFFIXES) else "text"
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [(1, "the file is not UTF-8 text; save it as UTF-8")]
    except OSError as exc:
        return [(1, f"cannot read the file: {exc.strerror or exc}")]
    if part == "html" and channel == "phone":
        return [(1, "a phone script has only a plain-text part: check a .txt.j2 file with --channel phone")]
    if not source.strip():
        return [(1, f"the file is empty: write the {'HTML' if part == 'html' else 'plain-text'} part")]
    problems = check_part(part, source, audience=audience)
    return sorted(((problem.line or 1, " ".join(problem.message.split())) for problem in problems),
                  key=lambda problem: problem[0])


def command_check(args: argparse.Namespace) -> int:
    """Print each problem as FILE:LINE: message on stderr; 2 when there are any, else 0."""
    from core.communication import worker as template_worker  # noqa: PLC0415 -- heavy, off the parser's start-up

    try:
        problems = template_problems(Path(args.file), audience=args.audience, channel=args.channel)
    finally:
        template_worker.shutdown()
    for line, message in problems:
        print(f"{args.file}:{line}: {message}", file=sys.stderr)
    return EXIT_PROBLEMS if problems else 0
