"""Shared by the replay case tables: write a replay document, run it, compare the parts a case is about.

The replay tables (tests/core/test_replay_<preset>.py) state, per case, only the
parts of the output the quoted playbook line speaks of; `view` cuts the engine's
answer down to exactly those parts so a failing case shows one readable diff.
Every case is detected at the same time, Monday 2026-03-02 10:00 UTC. Times are
written short: "10:05" is that time on the detection day, "03-03T09:00" a time
on another day of 2026; `t` turns them into the contract's UTC ISO form. The
expected values are the playbooks' numbers; this module only builds documents,
runs them (in process and as `python -m core replay`) and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.incident.replay import replay
from core.policy.loading import load_preset

ROOT = Path(__file__).resolve().parents[2]
DETECTED = "10:00"
UPDATE_FIELDS = ("due", "sent_at", "state")


# --- builders -------------------------------------------------------------------------------------------------


def t(short: str | None) -> str | None:
    """The contract's UTC ISO time of a short time: "10:05" on 2026-03-02, "03-03T09:00" on that day of 2026."""
    if short is None:
        return None
    return f"2026-{short}:00Z" if "T" in short else f"2026-03-02T{short}:00Z"


def ev(at: str, kind: str, **fields: Any) -> dict[str, Any]:
    """One event of the document: at a short time, of a type, with its fields (level, clocks, severity)."""
    return {"at": t(at), "type": kind, **fields}


def document(policy: str, answers: dict[str, Any], events: list[dict[str, Any]], until: str) -> dict[str, Any]:
    """The replay document of one case for a preset, detected at 10:00 on Monday 2026-03-02."""
    return {"policy": policy, "detected_at": t(DETECTED), "answers": answers, "events": events, "until": t(until)}


def case(case_id: str, answers: dict[str, Any], events: list[dict[str, Any]], until: str,
         expected: dict[str, Any]) -> Any:
    """One row of a replay table; its id names the playbook section it checks."""
    return pytest.param(answers, events, until, expected, id=case_id)


def step(level: str, start: str, due: str | None, reached_at: str | None, state: str) -> dict[str, Any]:
    """One escalation ladder step as the contract prints it."""
    return {"level": level, "from": t(start), "due": t(due), "reached_at": t(reached_at), "state": state}


def clock(deadline: str | None, state: str, met_at: str | None = None) -> dict[str, Any]:
    """An expected clock: deadline, state and (when met) when; write {"state": ...} to check the state alone."""
    return {"deadline": t(deadline), "state": state, "met_at": t(met_at)}


def response(deadline: str, responded_at: str | None, state: str) -> dict[str, Any]:
    """One level's response clock (deadline, when the level responded, state)."""
    return {"deadline": t(deadline), "responded_at": t(responded_at), "state": state}


def update(due: str, sent_at: str | None, state: str) -> dict[str, Any]:
    """One client update entry (its due time, when it was sent, its state)."""
    return {"due": t(due), "sent_at": t(sent_at), "state": state}


# --- comparing ------------------------------------------------------------------------------------------------


def _entries(present: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The named entries of `present`, each cut to the fields wanted (None wanted: the entry must be absent)."""
    return {name: present.get(name) if fields is None or name not in present
            else {field: present[name].get(field) for field in fields}
            for name, fields in wanted.items()}


def view(result: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The parts of a replay answer that `expected` names, in the same shape, for one whole comparison.

    Plain keys (severity, red_status, required_level, next_client_update_due)
    compare as they are; a key the answer does not have fails (a typo in a table).
    `clocks` and `level_response` are dicts by clock or level: each named entry
    is cut to the fields expected (None expected: the entry must be absent).
    `escalation_ladder` is either a list of steps, the whole ladder as printed,
    or a dict by level cut the same way as the clocks. `clock_names`,
    `ladder_levels` and `response_levels` are the sorted names present, to say
    "only these". `client_updates` is the whole list, each entry cut to
    due/sent_at/state.
    """
    ladder = {entry["level"]: entry for entry in result["escalation_ladder"]}
    seen: dict[str, Any] = {}
    for key, wanted in expected.items():
        if key in ("clocks", "level_response"):
            seen[key] = _entries(result[key], wanted)
        elif key == "escalation_ladder":
            seen[key] = result[key] if isinstance(wanted, list) else _entries(ladder, wanted)
        elif key == "clock_names":
            seen[key] = sorted(result["clocks"])
        elif key == "ladder_levels":
            seen[key] = sorted(ladder)
        elif key == "response_levels":
            seen[key] = sorted(result["level_response"])
        elif key == "client_updates":
            seen[key] = [{field: entry.get(field) for field in UPDATE_FIELDS} for entry in result[key]]
        else:
            seen[key] = result[key]
    return seen


def assert_parts(result: dict[str, Any], expected: dict[str, Any]) -> None:
    """Assert the parts of a replay answer a case names (see `view`); tests/core/conftest.py makes the diff."""
    assert view(result, expected) == expected


# --- running --------------------------------------------------------------------------------------------------


def run_in_process(doc: dict[str, Any]) -> dict[str, Any]:
    """The replay of a preset document, through the public function."""
    return replay(doc, load_preset(doc["policy"]))


def run_cli(doc: dict[str, Any] | str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `python -m core replay` with the document (or raw text) on standard input."""
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return subprocess.run([sys.executable, "-m", "core", "replay", *args], cwd=ROOT, input=text,
                          capture_output=True, text=True, timeout=60,
                          check=False)  # the tests read the exit code themselves


def check_in_process(doc: dict[str, Any], expected: dict[str, Any]) -> None:
    """One table case in process: the parts it names are the expected ones."""
    assert_parts(run_in_process(doc), expected)


def check_cli(doc: dict[str, Any], expected: dict[str, Any]) -> None:
    """One table case through `python -m core replay`: exit 0, nothing on stderr, the in-process JSON, its parts."""
    done = run_cli(doc)
    assert (done.returncode, done.stderr) == (0, "")
    printed = json.loads(done.stdout)
    assert printed == run_in_process(doc)
    assert_parts(printed, expected)


def check_cli_refuses(doc: dict[str, Any] | str) -> str:
    """`python -m core replay` refuses the document (or raw text): exit 2, nothing on stdout; its stderr, to read."""
    done = run_cli(doc)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    return done.stderr


def cli_cases(cases: Iterable[Any], ids: set[str]) -> list[Any]:
    """The table rows that also run as `python -m core replay`, picked by id."""
    return [row for row in cases if row.id in ids]


def assert_enough(cases: list[Any], cli_ids: set[str], least: int = 15, least_cli: int = 3) -> None:
    """A table has at least `least` cases, `least_cli` of them through the command, each a real case id."""
    assert len(cases) >= least
    assert len(cli_ids) >= least_cli
    assert cli_ids.issubset(row.id for row in cases)
