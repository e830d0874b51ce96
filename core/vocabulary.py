"""The product's words, defined once: severities, tiers, levels, clocks, clock states, incident statuses.

Pages, ui and core all import these names from here (or through the module
that re-exports them, such as `core.policy.schema`), so a severity or a status
is never a string literal typed twice. Pure: no I/O, no clock reading, no
imports from the rest of core.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

Severity = Literal["P0", "P1", "P2", "P3"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
# The severities that put an incident in the emergency lane and the P0/P1 figures.
EMERGENCY_SEVERITIES: tuple[str, ...] = ("P0", "P1")

Tier = Literal["basic", "pro", "enterprise"]
TIERS: tuple[str, ...] = get_args(Tier)
LevelId = Literal["L1", "L2", "L3", "L4"]
LEVEL_IDS: tuple[str, ...] = get_args(LevelId)

Clock = Literal[
    "acknowledge",
    "client_notification",
    "mobilization",
    "client_update",
    "resolution",
    "resolution_max",
    "escalation",
]
CLOCKS: tuple[str, ...] = get_args(Clock)
# Each escalation level's own response clock runs once the incident reaches that
# level: "response_L2" is how soon L2 must respond (policy: escalation_levels[].response).
LEVEL_RESPONSE_CLOCKS: tuple[str, ...] = tuple(f"response_{level}" for level in LEVEL_IDS)


def level_response_clock(level: str) -> str:
    """The clock name of a level's response, e.g. response_L2."""
    return f"response_{level}"


def response_level(clock: str) -> str | None:
    """The level a response clock belongs to (response_L2 -> L2); None for other clocks."""
    return clock.removeprefix("response_") if clock in LEVEL_RESPONSE_CLOCKS else None


class ClockState(StrEnum):
    """Where a clock, or an entry of a plan that unfolds over time, stands.

    PENDING: not started yet (its start milestone or its planned time is ahead).
    RUNNING: started, not met, not yet breached. PAUSED: stopped by a pause
    (client waiting, outside business hours) and resumes. MET: stopped in time.
    BREACHED: its target passed, met or not. STOPPED: no longer relevant
    (the incident closed before it could start, or its level was never needed).
    """

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    STOPPED = "stopped"


class IncidentStatus(StrEnum):
    """Where an incident stands."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    MOBILIZED = "mobilized"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


STATUS_LABELS: dict[IncidentStatus, str] = {
    IncidentStatus.NEW: "New",
    IncidentStatus.ACKNOWLEDGED: "Acknowledged",
    IncidentStatus.MOBILIZED: "Team mobilised",
    IncidentStatus.MITIGATED: "Workaround in place",
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.CLOSED: "Closed",
    IncidentStatus.REOPENED: "Reopened",
}

OPEN_STATUSES = frozenset(
    {
        IncidentStatus.NEW,
        IncidentStatus.ACKNOWLEDGED,
        IncidentStatus.MOBILIZED,
        IncidentStatus.MITIGATED,
        IncidentStatus.REOPENED,
    }
)
