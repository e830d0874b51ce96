"""The audit log: who changed what and when, written in the same unit of work as the change.

Entries are only ever added; nothing here updates or deletes one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEntry


def record(
    session: Session,
    *,
    actor_id: int | None,
    actor_name: str,
    entity_type: str,
    entity_id: str | int,
    action: str,
    changes: dict[str, Any] | None = None,
    at: dt.datetime,
) -> AuditEntry:
    """Append one audit entry; `changes` maps a field to [before, after]."""
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=_jsonable(changes or {}),
    )
    session.add(entry)
    return entry


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, as {field: [before, after]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def entries_for(session: Session, entity_type: str, entity_id: str | int, limit: int = 200) -> list[AuditEntry]:
    """The newest audit entries for one entity."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
