"""Shared by the replay case tables: write a replay document, run it, compare the parts a case is about.

Every case starts at the same detection time, Monday 2026-03-02 10:00 UTC (the
three presets run on a 24x7 calendar). Times in the tables are written short,
"10:15" (the detection day) or "03-03 10:00" (another day of March 2026), and
turned into the contract's UTC ISO form here. The expected values are the
playbooks' numbers; this module only builds documents and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.incident.replay import replay
from core.policy.loading import load_preset

ROOT = Path(__file__).resolve().parents[2]
DETECTED = "10:00"
# The keys a case may assert; anything else in an expectation is a typo in the table.
PARTS = ("severity", "red_status", "required_level", "clocks", "escalation_ladder", "level_response",
         "client_updates", "next_client_update_due")


def t(short: str | None) -> str | None:
    """The contract's UTC ISO time for a short table time ("10:15", "03-03 10:00"); None stays None."""
    if short is None:
        return None
    day, _, clock = short.rpartition(" ")
    return f"2026-{day or '03-02'}T{clock}:00Z"


def ev(at: str, kind: str, **fields: Any) -> dict[str, Any]:
    """One event of the document: at a short time, of a type, with its fields (level, clocks, severity)."""
    return {"at": t(at), "type": kind, **fields}


def document(policy: str, answers: dict[str, Any], events: list[dict[str, Any]], until: str) -> dict[str, Any]:
    """The replay document for a preset, detected at 10:00 on the detection day."""
    return {"policy": policy, "detected_at": t(DETECTED), "answers": answers, "events": events, "until": t(until)}


def step(level: str, start: str, due: str | None, reached: str | None, state: str) -> dict[str, Any]:
    """One escalation ladder step as the contract prints it."""
    return {"level": level, "from": t(start), "due": t(due), "reached_at": t(reached), "state": state}


def update(due: str, sent: str | None, state: str) -> dict[str, Any]:
    """One client update entry (its due time, when it was sent, its state)."""
    return {"due": t(due), "sent_at": t(sent), "state": state}


_UNSET = object()


def clock(deadline: Any = _UNSET, state: Any = _UNSET, met_at: Any = _UNSET) -> dict[str, Any]:
    """The parts of one clock a case checks (only those given)."""
    parts = {"deadline": deadline, "state": state, "met_at": met_at}
    return {key: (t(value) if key != "state" else value) for key, value in parts.items() if value is not _UNSET}


def response(deadline: str, responded: str | None, state: str) -> dict[str, Any]:
    """One level's response clock (deadline, when the level responded, state)."""
    return {"deadline": t(deadline), "responded_at": t(responded), "state": state}


def run_in_process(doc: dict[str, Any]) -> dict[str, Any]:
    """The replay of a preset document, through the public function."""
    return replay(doc, load_preset(doc["policy"]))


def run_cli(doc: dict[str, Any] | str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m core replay` with the document (or raw text) on standard input."""
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return subprocess.run([sys.executable, "-m", "core", "replay", *args], cwd=ROOT, input=text,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_parts(output: dict[str, Any], expected: dict[str, Any]) -> None:
    """Assert each part the case names: whole values, except clocks and level responses (the fields given)."""
    unknown = set(expected) - set(PARTS)
    assert not unknown, f"the case names parts the contract does not have: {unknown}"
    for part, want in expected.items():
        got = output[part]
        if part in ("clocks", "level_response"):
            for name, fields in want.items():
                assert name in got, f"{part}: no '{name}' in {sorted(got)}"
                assert {key: got[name][key] for key in fields} == fields, f"{part}.{name}"
        elif part == "client_updates":
            assert [{key: entry[key] for key in ("due", "sent_at", "state")} for entry in got] == want, part
        else:
            assert got == want, part
