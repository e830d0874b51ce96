"""The incident lifecycle: statuses, milestones and the moves allowed between statuses.

One table says which status may follow which; every status move in the app
goes through `check_move`, so an illegal move is refused with the list of
moves that are allowed. Pure: no I/O, no clock reading.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Protocol

from core.vocabulary import OPEN_STATUSES, SEVERITIES, STATUS_LABELS, IncidentStatus

__all__ = ["OPEN_STATUSES", "STATUS_LABELS", "IncidentStatus"]


_S = IncidentStatus
ALLOWED_MOVES: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    _S.NEW: frozenset({_S.ACKNOWLEDGED, _S.MOBILIZED, _S.MITIGATED, _S.RESOLVED}),
    _S.ACKNOWLEDGED: frozenset({_S.MOBILIZED, _S.MITIGATED, _S.RESOLVED}),
    _S.MOBILIZED: frozenset({_S.MITIGATED, _S.RESOLVED}),
    _S.MITIGATED: frozenset({_S.MOBILIZED, _S.RESOLVED}),
    _S.RESOLVED: frozenset({_S.CLOSED, _S.REOPENED}),
    _S.CLOSED: frozenset({_S.REOPENED}),
    _S.REOPENED: frozenset({_S.ACKNOWLEDGED, _S.MOBILIZED, _S.MITIGATED, _S.RESOLVED}),
}


class Milestone(StrEnum):
    """A moment in an incident's life that a clock starts or stops on."""

    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    CLIENT_NOTIFIED = "client_notified"
    MOBILIZED = "mobilized"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    # The client said the fix works for them (SPARK: "customer satisfaction confirmed"): after resolution.
    CLIENT_CONFIRMED = "client_confirmed"
    CLOSED = "closed"


MILESTONE_LABELS: dict[Milestone, str] = {
    Milestone.DETECTED: "Detected",
    Milestone.ACKNOWLEDGED: "Acknowledged",
    Milestone.CLIENT_NOTIFIED: "Client notified",
    Milestone.MOBILIZED: "Team mobilised",
    Milestone.MITIGATED: "Workaround in place",
    Milestone.RESOLVED: "Resolved",
    Milestone.CLIENT_CONFIRMED: "Client confirmed the fix",
    Milestone.CLOSED: "Closed",
}

# The incident column each milestone stamps.
MILESTONE_FIELDS: dict[Milestone, str] = {
    Milestone.DETECTED: "detected_at",
    Milestone.ACKNOWLEDGED: "acknowledged_at",
    Milestone.CLIENT_NOTIFIED: "client_notified_at",
    Milestone.MOBILIZED: "mobilized_at",
    Milestone.MITIGATED: "mitigated_at",
    Milestone.RESOLVED: "resolved_at",
    Milestone.CLIENT_CONFIRMED: "client_confirmed_at",
    Milestone.CLOSED: "closed_at",
}


class MilestoneRow(Protocol):
    """What milestone_times reads besides the milestone columns (an incident row fits)."""

    reopened_at: dt.datetime | None


def milestone_times(row: MilestoneRow) -> dict[str, dt.datetime | None]:
    """Every milestone's time on an incident row, and when it was last reopened, keyed by milestone value."""
    times: dict[str, dt.datetime | None] = {m.value: getattr(row, field) for m, field in MILESTONE_FIELDS.items()}
    times["reopened"] = row.reopened_at
    return times


# Moves that undo work or end it for good: the person confirms them first.
_CONFIRM_MOVES: dict[IncidentStatus, str] = {
    IncidentStatus.CLOSED: "Close incident? Its record is final: reopening later needs a reason.",
    IncidentStatus.REOPENED: "Reopen incident? Its clocks start again from the policy's targets.",
}


def move_confirmation(target: str) -> str | None:
    """The question to ask before moving to `target`, or None when the move needs no confirmation."""
    return _CONFIRM_MOVES.get(IncidentStatus(target))


def severity_confirmation(current: str, new: str, *, floor: str | None = None) -> str | None:
    """The question to ask before changing the severity from `current` to `new`: only a lowering asks, and not
    one below the incident's `floor`, which is refused at once with why."""
    if SEVERITIES.index(new) <= SEVERITIES.index(current):
        return None
    if floor is not None and SEVERITIES.index(new) > SEVERITIES.index(floor):
        return None
    return (f"Lower the severity from {current} to {new}? Deadlines move later and fewer people are chased; "
            "say in the reason what changed.")


class IllegalMove(ValueError):
    """A status move the lifecycle does not allow; the message lists the allowed ones."""


def is_open(status: str) -> bool:
    """True while the incident still needs work (not resolved or closed)."""
    return IncidentStatus(status) in OPEN_STATUSES


def allowed_moves(status: str) -> list[IncidentStatus]:
    """The statuses that may follow `status`, in lifecycle order."""
    allowed = ALLOWED_MOVES[IncidentStatus(status)]
    return [s for s in IncidentStatus if s in allowed]


def check_move(current: str, target: str) -> IncidentStatus:
    """The target status when the move is allowed; IllegalMove naming the allowed moves otherwise."""
    try:
        to = IncidentStatus(target)
    except ValueError:
        names = ", ".join(s.value for s in IncidentStatus)
        raise IllegalMove(f"Unknown status {target!r}: statuses are {names}.") from None
    frm = IncidentStatus(current)
    if to not in ALLOWED_MOVES[frm]:
        allowed = ", ".join(STATUS_LABELS[s] for s in allowed_moves(frm)) or "none"
        raise IllegalMove(
            f"An incident that is {STATUS_LABELS[frm]} cannot become {STATUS_LABELS[to]}. "
            f"Allowed next: {allowed}."
        )
    return to
