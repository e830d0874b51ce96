"""Build replay documents and compare the parts of `replay`'s answer a playbook case is about.

The replay tables (tests/core/test_replay_<preset>.py) state, per case, only the
parts of the output the quoted playbook line speaks of; `view` cuts the engine's
answer down to exactly those parts so a failing case shows one readable diff.
Times are written short: "10:05" is that time on the detection day (Monday
2026-03-02, UTC), "03-03T09:00" a time on another day of 2026.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DETECTED = "10:00"


def t(text: str) -> str:
    """The replay ISO time of a short time: "10:05" on 2026-03-02, or "03-03T09:00" on that day of 2026."""
    return f"2026-{text}:00Z" if "T" in text else f"2026-03-02T{text}:00Z"


def ev(at: str, kind: str, **fields: Any) -> dict[str, Any]:
    """One replay event at a short time."""
    return {"at": t(at), "type": kind, **fields}


def document(policy: str, answers: dict[str, Any], events: list[dict[str, Any]], until: str) -> dict[str, Any]:
    """The replay document of one case, detected at 10:00 on Monday 2026-03-02."""
    return {"policy": policy, "detected_at": t(DETECTED), "answers": answers, "events": events, "until": t(until)}


def case(case_id: str, answers: dict[str, Any], events: list[dict[str, Any]], until: str,
         expected: dict[str, Any]) -> Any:
    """One row of a replay table; its id names the playbook section it checks."""
    return pytest.param(answers, events, until, expected, id=case_id)


def step(frm: str, due: str | None, reached_at: str | None, state: str) -> dict[str, Any]:
    """An expected escalation ladder step."""
    return {"from": t(frm), "due": None if due is None else t(due),
            "reached_at": None if reached_at is None else t(reached_at), "state": state}


def clock(deadline: str | None, state: str, met_at: str | None = None) -> dict[str, Any]:
    """An expected clock: deadline, state and (when met) when."""
    return {"deadline": None if deadline is None else t(deadline), "state": state,
            "met_at": None if met_at is None else t(met_at)}


def response(deadline: str, responded_at: str | None, state: str) -> dict[str, Any]:
    """An expected level response clock."""
    return {"deadline": t(deadline), "responded_at": None if responded_at is None else t(responded_at),
            "state": state}


def update(due: str, sent_at: str | None, state: str) -> dict[str, Any]:
    """An expected client update entry."""
    return {"due": t(due), "sent_at": None if sent_at is None else t(sent_at), "state": state}


def view(result: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The parts of a replay answer that `expected` names, in the same shape, for one whole comparison.

    Plain keys (severity, red_status, required_level, next_client_update_due)
    compare as they are. `clocks`, `escalation_ladder` and `level_response` are
    dicts by clock or level: each named entry is cut to the fields expected
    (None expected: the entry must be absent). `clock_names`, `ladder_levels` and
    `response_levels` are the sorted names present, to say "only these".
    `client_updates` is the whole list, each entry cut to due/sent_at/state.
    """
    ladder = {entry["level"]: entry for entry in result["escalation_ladder"]}
    sections = {"clocks": result["clocks"], "escalation_ladder": ladder, "level_response": result["level_response"]}
    seen: dict[str, Any] = {}
    for key, wanted in expected.items():
        if key in sections:
            present = sections[key]
            seen[key] = {name: present.get(name) if fields is None or name not in present
                         else {f: present[name].get(f) for f in fields}
                         for name, fields in wanted.items()}
        elif key == "clock_names":
            seen[key] = sorted(result["clocks"])
        elif key == "ladder_levels":
            seen[key] = sorted(ladder)
        elif key == "response_levels":
            seen[key] = sorted(result["level_response"])
        elif key == "client_updates":
            seen[key] = [{f: entry.get(f) for f in ("due", "sent_at", "state")} for entry in result[key]]
        else:
            seen[key] = result[key]
    return seen


def run_replay(doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the real `python -m core replay` with the document on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "core", "replay"],
        cwd=ROOT,
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the tests read the exit code themselves
    )
