"""Pure rule modules never read the clock: time is an input (house rule 1).

import-linter keeps the database out of these modules (see pyproject.toml); what it
cannot see is a call such as `datetime.now()`, so this test reads their syntax trees.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PURE_RULE_MODULES = (
    "core.policy.notation",
    "core.policy.rules",
    "core.policy.schema",
    "core.policy.measures",
    "core.policy.roles",
    "core.policy.loading",
    "core.policy.calendar",
    "core.triage.answers",
    "core.triage.rules",
    "core.sla.clocks",
    "core.sla.metrics",
    "core.incident.lifecycle",
    "core.incident.escalation",
    "core.incident.alerting",
    "core.incident.phases",
    "core.account.health",
    "core.vocabulary",
    "core.zones",
    "core.people.time_display",
)
CLOCK_ATTRIBUTES = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns", "monotonic_ns",
                    "localtime", "gmtime"}
CLOCK_OWNERS = {"datetime", "date", "dt", "time", "_time", "pendulum", "arrow"}
# `datetime.time(9)` builds a time of day; only the `time` module's `time()` reads the clock.
TIME_MODULES = {"time", "_time"}


def clock_reads(source: str) -> list[str]:
    """Every place in `source` that reads the clock, as 'line: expression'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            names = {alias.name for alias in node.names} & CLOCK_ATTRIBUTES
            if names:
                found.append(f"{node.lineno}: from time import {', '.join(sorted(names))}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_ATTRIBUTES:
            owner = node.func.value
            while isinstance(owner, ast.Attribute):
                owner = owner.value
            if node.func.attr == "time" and not (isinstance(owner, ast.Name) and owner.id in TIME_MODULES):
                continue
            if isinstance(owner, ast.Name) and owner.id in CLOCK_OWNERS:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("module", PURE_RULE_MODULES)
def test_pure_rule_module_reads_no_clock(module: str) -> None:
    path = Path(importlib.import_module(module).__file__ or "")
    assert clock_reads(path.read_text()) == [], f"{module} reads the clock; take `now` as a parameter"


@pytest.mark.parametrize(("source", "expected"), [
    ("import datetime as dt\nx = dt.datetime.now(dt.UTC)", ["2: dt.datetime.now(dt.UTC)"]),
    ("from datetime import date\nx = date.today()", ["2: date.today()"]),
    ("import time\nx = time.time()", ["2: time.time()"]),
    ("import time\nx = time.monotonic()", ["2: time.monotonic()"]),
    ("from time import monotonic", ["1: from time import monotonic"]),
    ("def f(now):\n    return now.replace(hour=1)", []),
    ("import datetime as dt\nx = dt.time(9)", []),
    ("import datetime\nx = datetime.time(hour=9)", []),
    ("import datetime as dt\nx = dt.datetime.fromisoformat('2026-01-01')", []),
])
def test_the_scan_finds_clock_reads(source: str, expected: list[str]) -> None:
    assert clock_reads(source) == expected
