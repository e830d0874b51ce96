"""Command line for the escalation rules: ``python -m core <command>``.

A thin, stable contract for scripts and tests: ``policies`` lists the bundled
presets, ``policies check FILE`` validates a policy file (its name on stdout,
or one ``FILE:LINE: path: what to fix`` line per problem on stderr, exit 2)
``triage`` prints the triage of one checklist as a JSON object, and ``replay``
reads one JSON document (policy, detection time, answers, events, until) on
standard input and prints the clocks, escalation ladder, levels' response clocks
and client schedule as of `until` (see core.incident.replay).
Bad input (unknown field, bad value, unknown policy, bad time) exits with code
2 and a message on stderr naming what is wrong and what is allowed. This
module only parses arguments, reads the answers and prints; every decision is
made in core.triage.rules and core.policy.schema. It never imports streamlit.

Adding a command: write ``register(subparsers)`` in its own module; it adds a
sub-parser and calls ``set_defaults(func=handler)`` where ``handler(args)``
returns the exit code. Then list it in ``EXTRA_COMMANDS`` below.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from core.cli import admin as admin_cli
from core.cli import templates as templates_cli
from core.cli import tick as tick_cli
from core.cli import tokens as tokens_cli
from core.incident.replay import ReplayError, replay
from core.policy.loading import (
    PolicyError,
    PolicyFileError,
    load_policy_file,
    load_preset,
    parse_policy,
    preset_names,
)
from core.policy.schema import Policy
from core.triage.rules import AnswersError, parse_answers, triage

if TYPE_CHECKING:
    from core.cli import Subparsers

RegisterCommand: TypeAlias = Callable[["Subparsers"], None]


# Commands defined in other modules: (name, register). main() registers them
# after the built-in ones. Their modules only build parsers: the database layer
# and the template worker are imported when one of their commands runs.
EXTRA_COMMANDS: list[tuple[str, RegisterCommand]] = [("init, users, demo-logins", admin_cli.register),
                                                     ("templates", templates_cli.register),
                                                     ("tick", tick_cli.register),
                                                     ("tokens, routing-key, sources", tokens_cli.register)]

EXIT_USAGE = 2


def parse_detection_time(text: str) -> datetime:
    """Parse an ISO-8601 detection time; a time without offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --at {text!r}: use ISO-8601, e.g. 2025-03-04T09:30:00Z or 2025-03-04T10:30:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def resolve_policy(name_or_path: str) -> Policy:
    """Load a preset by name, or a custom policy from a YAML file path."""
    if name_or_path in preset_names():
        return load_preset(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file() or "/" in name_or_path:
        return load_policy_file(path)
    return load_preset(name_or_path)  # raises, listing the presets


def _read_answers(source: str | None) -> object:
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise AnswersError(f"answers: cannot read {source}: {exc.strerror or exc}") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswersError(f"answers: not valid JSON ({exc})") from None


def _command_policies(args: argparse.Namespace) -> int:
    for name in preset_names():
        print(name)
    return 0


def _command_policies_check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy_file(args.file, source=args.file)
    except PolicyFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    print(policy.name)
    return 0


def _command_triage(args: argparse.Namespace) -> int:
    try:
        policy = resolve_policy(args.policy)
        answers = parse_answers(_read_answers(args.answers))
    except (PolicyError, AnswersError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    detected_at = args.at or datetime.now(UTC)
    result = triage(answers, policy, detected_at)
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    return 0


def _command_replay(args: argparse.Namespace) -> int:
    text = sys.stdin.read()
    try:
        document = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        print(f"error: the replay document is not valid JSON ({exc})", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(document, dict):
        print('error: give one JSON object on standard input, e.g. {"policy": "spark", "detected_at": '
              '"2026-03-02T10:00:00Z", "answers": {}, "events": [], "until": "2026-03-02T12:00:00Z"}',
              file=sys.stderr)
        return EXIT_USAGE
    try:
        policy = _replay_policy(document)
        result = replay(document, policy)
    except PolicyFileError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)  # each problem starts with policy_yaml:LINE
        return EXIT_USAGE
    except (PolicyError, ReplayError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _replay_policy(document: dict[str, object]) -> Policy:
    name, text = document.get("policy"), document.get("policy_yaml")
    if (name is None) == (text is None):
        which = "both 'policy' and 'policy_yaml' are given" if name is not None else "no policy is given"
        raise PolicyError(f"{which}: give exactly one of 'policy' (a preset name: " + ", ".join(preset_names())
                          + ") or 'policy_yaml' (a draft policy's YAML text)")
    if text is not None:
        if not isinstance(text, str):
            raise PolicyError("policy_yaml: give the policy's YAML as one string")
        return parse_policy(text, "policy_yaml")
    if not isinstance(name, str) or name not in preset_names():
        raise PolicyError(f"policy: unknown preset {name!r}; presets: " + ", ".join(preset_names()))
    return load_preset(name)


def _register_replay(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "replay", help="replay an incident's events and print its clocks, ladder and client schedule as JSON",
        description="Read one JSON document on standard input: {policy | policy_yaml, detected_at, answers, "
                    "events, until}; print the severity, red status, required level, every clock, the "
                    "escalation ladder, the levels' response clocks and the client updates as of 'until'. "
                    "Bad input exits 2 with a message naming the field (and the event's index).")
    parser.set_defaults(func=_command_replay)


def _register_policies(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "policies", help="list the bundled policy presets, one per line ('policies check FILE' validates a file)")
    parser.set_defaults(func=_command_policies)
    actions = parser.add_subparsers(dest="policies_command", metavar="check")
    check = actions.add_parser(
        "check", help="validate a policy file",
        description="Validate a policy YAML file: exit 0 with its name on stdout, or exit 2 with one line per "
                    "problem on stderr, FILE:LINE: path.in.policy: what to fix.")
    check.add_argument("file", metavar="FILE", help="the policy YAML file")
    check.set_defaults(func=_command_policies_check)


def _register_triage(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "triage",
        help="triage one incident and print the outcome as JSON",
        description="Triage one incident: severity, red status, escalation, deadlines and reasons as JSON.",
    )
    parser.add_argument("--policy", required=True, help="preset name (see 'policies') or path to a policy YAML file")
    parser.add_argument(
        "--at",
        type=parse_detection_time,
        default=None,
        help="detection time, ISO-8601 (default: now; without an offset it is UTC)",
    )
    parser.add_argument(
        "--answers",
        default=None,
        metavar="FILE",
        help="checklist answers as a JSON object, from FILE or '-' for stdin (default: no answers)",
    )
    parser.set_defaults(func=_command_triage)


BUILTIN_COMMANDS: list[tuple[str, RegisterCommand]] = [
    ("policies", _register_policies),
    ("triage", _register_triage),
    ("replay", _register_replay),
]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: every command, or only the built-ins when `argv` starts with one of them."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Escalation Desk rules from the command line.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # The extra commands import the database layer (about a second): a built-in
    # command such as 'policies check' must answer without paying for it.
    builtin = argv and argv[0] in {name for name, _register in BUILTIN_COMMANDS}
    for _name, register in BUILTIN_COMMANDS + ([] if builtin else EXTRA_COMMANDS):
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors by exiting with 2
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
