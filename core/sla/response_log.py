"""The response log kept on an incident row: escalations, each level's response and every client message.

The flows append to it in the same unit of work as the change they record, and
`core.sla.facts` reads it back into the clock facts, so the ladder, the levels'
response clocks and the client schedule never need another query. Never imports
streamlit; never reads the clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.models import Incident


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _log(incident: Incident) -> dict[str, Any]:
    # A copy: the JSON column is only saved when the attribute is assigned anew.
    return {key: (list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value)
            for key, value in (incident.response_log or {}).items()}


def log_escalation(incident: Incident, level: str, at: dt.datetime) -> None:
    """Record that the incident was escalated to `level` at `at`."""
    log = _log(incident)
    moves = [*log.get("escalations", []), [level, _iso(at)]]
    log["escalations"] = sorted(moves, key=lambda move: move[1])
    incident.response_log = log


def log_level_response(incident: Incident, level: str, at: dt.datetime) -> None:
    """Record that `level` responded at `at`."""
    log = _log(incident)
    log["responses"] = {**log.get("responses", {}), level: _iso(at)}
    incident.response_log = log


def log_client_message(incident: Incident, at: dt.datetime) -> None:
    """Record a message to the client sent at `at` (the first notice included)."""
    log = _log(incident)
    log["messages"] = sorted({*log.get("messages", []), _iso(at)})
    incident.response_log = log


def escalations_of(incident: Incident) -> tuple[tuple[str, dt.datetime], ...]:
    """Every escalation as (level, when), oldest first."""
    return tuple((level, dt.datetime.fromisoformat(at)) for level, at in (incident.response_log or {}).get(
        "escalations", []))


def responses_of(incident: Incident) -> dict[str, dt.datetime]:
    """Each level's recorded response time."""
    return {level: dt.datetime.fromisoformat(at)
            for level, at in (incident.response_log or {}).get("responses", {}).items()}


def messages_of(incident: Incident) -> tuple[dt.datetime, ...]:
    """Every client message time, oldest first."""
    return tuple(dt.datetime.fromisoformat(at) for at in (incident.response_log or {}).get("messages", []))
