"""The ``python -m core replay`` contract: bad documents exit 2 naming what to fix, a draft policy replays.

Every error names the field to fix, and for an event its index
(``events[1].type``), so a script can point at the line of its document.
The success case replays a small draft policy written here, passed as
``policy_yaml``, through the real command.
"""

from __future__ import annotations

import json

import pytest

from core.incident.replay import DOCUMENT_KEYS
from tests.core.replay_cases import (
    assert_parts,
    check_cli_refuses,
    clock,
    document,
    ev,
    response,
    run_cli,
    step,
    t,
    update,
)

# A draft policy as someone might paste it into the policy editor: two severities that matter, two levels.
DRAFT = """\
name: draft-desk
title: Draft desk policy
source: custom
description: A small draft to try the replay command on.
severities:
  - {id: P0, label: Critical, definition: The customer is down., section: Draft › Severities, red_status: true,
     escalation_level: L2}
  - {id: P1, label: High, definition: The customer is hampered., section: Draft › Severities, escalation_level: L1}
  - {id: P2, label: Medium, definition: The customer is inconvenienced., section: Draft › Severities}
  - {id: P3, label: Low, definition: No current impact., section: Draft › Severities}
default: {severity: P3, reason: Nothing applies., section: Draft › Severities}
targets:
  P0: {acknowledge: 10m, resolution: 2h, escalation: 20m, client_update: 30m}
calendars: {default: 24x7}
pausable_clocks: [resolution]
rules:
  - id: down
    when: {complete_outage: true}
    then: {severity: P0}
    reason: The customer is down.
    section: Draft › Rules
escalation_levels:
  - {id: L1, name: Support, summary: First line., section: Draft › Levels}
  - {id: L2, name: Managers, summary: The managers on call., section: Draft › Levels, response: 30m}
roles:
  - {key: incident_commander, title: Incident commander}
  - {key: csm, title: Customer Success Manager}
"""


def draft_document(text: str, events: list[dict], until: str) -> dict:
    doc = document("unused", {"complete_outage": True}, events, until)
    del doc["policy"]
    return {"policy_yaml": text, **doc}


def with_events(policy: str, events: list[dict], until: str = "12:00", answers: dict | None = None) -> dict:
    return document(policy, answers or {"business_impact": "stopped"}, events, until)


ERRORS = [
    pytest.param(with_events("spark", [ev("10:05", "acknowledged"), ev("10:10", "paged")]),
                 ["events[1].type", "paged"], id="unknown event type"),
    pytest.param(with_events("spark", [ev("10:20", "acknowledged"), ev("10:10", "client_message")]),
                 ["events[1].at", "previous event"], id="event out of order"),
    pytest.param(with_events("spark", [ev("09:50", "acknowledged")]),
                 ["events[0].at", "before detected_at"], id="event before detection"),
    pytest.param(with_events("spark", [ev("12:30", "acknowledged")], until="12:00"),
                 ["events[0].at", "after until"], id="event after until"),
    pytest.param(with_events("spark", [ev("10:10", "escalated", level="L4")]),  # SPARK's levels are L1-L3
                 ["events[0].level", "L4"], id="unknown level"),
    pytest.param(with_events("spark", [ev("10:10", "paused", clocks=["acknowledge"])]),
                 ["events[0].clocks", "acknowledge"], id="pause of a clock the policy does not let pause"),
    pytest.param(with_events("teamflow", [ev("10:10", "escalated", level="L1"),
                                          ev("10:20", "level_responded", level="L2")]),
                 ["events[1].level", "L2"], id="level_responded for a level never escalated to"),
    pytest.param({**with_events("spark", []), "policy_yaml": DRAFT},
                 ["'policy'", "'policy_yaml'"], id="both policy and policy_yaml"),
    pytest.param({k: v for k, v in with_events("spark", []).items() if k != "policy"},
                 ["'policy'", "'policy_yaml'"], id="neither policy nor policy_yaml"),
    pytest.param(draft_document(DRAFT.replace("resolution: 2h", "resolution: two hours"), [], "11:00"),
                 ["policy_yaml", "targets.P0.resolution", "two hours"], id="policy_yaml with an invalid draft"),
    pytest.param('{"policy": "spark", "detected_at": ', ["not valid JSON"], id="invalid JSON"),
    pytest.param({**with_events("spark", []), "detected_at": "2026-03-02T10:00:00"},
                 ["detected_at", "offset"], id="naive detected_at without offset"),
    pytest.param(with_events("spark", [{"at": "2026-03-02T10:10:00", "type": "acknowledged"}]),
                 ["events[0].at", "offset"], id="naive event time without offset"),
    # Red-status, Escalation Matrix › Level 3 "System outage >4 hours": a floor of P0 (issue 14 point 4).
    pytest.param(with_events("red-status", [ev("10:30", "severity_changed", severity="P1")],
                             answers={"outage_minutes": 300}),
                 ["events[0].severity", "P0"], id="severity_changed below the answers' floor"),
]


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
@pytest.mark.parametrize("doc, names", ERRORS)
def test_bad_document_exits_2_naming_the_field(doc, names):
    stderr = check_cli_refuses(doc)
    assert stderr.startswith("error:")
    for name in names:
        assert name in stderr, f"{name!r} not in {stderr!r}"


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
def test_draft_policy_yaml_replays():
    # The draft's own numbers: P0 acknowledge 10m, escalation 20m to L2 (managers respond within 30m of the
    # escalation), resolution 2h, an update every 30 minutes from detection.
    doc = draft_document(DRAFT, [ev("10:05", "acknowledged"), ev("10:15", "escalated", level="L2"),
                                 ev("10:40", "level_responded", level="L2")], "11:00")
    done = run_cli(doc)
    assert (done.returncode, done.stderr) == (0, "")
    assert_parts(json.loads(done.stdout), {
        "severity": "P0", "red_status": True, "required_level": "L2",
        "escalation_ladder": [step("L2", "10:00", "10:20", "10:15", "met")],
        "clocks": {"acknowledge": clock("10:10", "met", "10:05"), "escalation": clock("10:20", "met", "10:15"),
                   "resolution": clock("12:00", "running", None)},
        "level_response": {"L2": response("10:45", "10:40", "met")},
        "client_updates": [update("10:30", None, "breached")],
        "next_client_update_due": t("10:30"),
    })


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
def test_help_names_the_document_keys():
    done = run_cli("", "--help")
    assert done.returncode == 0
    for key in DOCUMENT_KEYS:
        assert key in done.stdout, f"`replay --help` does not mention {key!r}"
