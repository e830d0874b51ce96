"""Saved policies: the shipped presets and the team's own versions, kept as YAML in the database.

Every save adds a version (old incidents keep the snapshot they were opened
with). The team default is a setting. Nothing here reads the clock: callers
pass `now`.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.policy.loading import PRESET_DIR, PolicyError, cached_policy, preset_names
from core.policy.schema import Policy
from db.models import PolicySnapshot, PolicyVersion, Setting

DEFAULT_SETTING = "default_policy"
FALLBACK_DEFAULT = "default"


def snapshot_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON of a policy body: equal policies, equal hash (migration 0019 uses the same)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# Policies are frozen models, parsed once per text (`cached_policy`): every incident opened under the same
# object shares its canonical body and hash, worked out once (1.5 ms of each opening transaction before).
# Keyed on the object's identity, with the object itself kept so that an id is never reused while cached.
_BODIES: dict[int, tuple[Policy, dict[str, Any], str]] = {}
_BODIES_KEPT = 256


def _body_and_hash(policy: Policy) -> tuple[dict[str, Any], str]:
    found = _BODIES.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1], found[2]
    body = policy.model_dump(mode="json")
    digest = snapshot_hash(body)
    if len(_BODIES) >= _BODIES_KEPT:
        _BODIES.clear()
    _BODIES[id(policy)] = (policy, body, digest)
    return body, digest


def snapshot_of(session: Session, policy: Policy, *, now: dt.datetime) -> PolicySnapshot:
    """The stored snapshot of `policy` exactly as it is now, added once and shared by every incident triaged under it.

    Safe against a concurrent writer of the same policy: the insert runs in a savepoint and a
    unique-hash conflict reads the other writer's row.
    """
    body, digest = _body_and_hash(policy)
    return store_snapshot(session, body, now=now, digest=digest)


def store_snapshot(session: Session, body: dict[str, Any], *, now: dt.datetime,
                   digest: str | None = None) -> PolicySnapshot:
    """The snapshot row holding exactly `body`, added when no row has its hash yet (see `snapshot_of`).

    `digest`, when given, is `snapshot_hash(body)` already worked out.
    """
    digest = digest or snapshot_hash(body)
    found = session.scalar(select(PolicySnapshot).where(PolicySnapshot.content_hash == digest))
    if found is not None:
        return found
    row = PolicySnapshot(content_hash=digest, body=copy.deepcopy(body), created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return session.scalars(select(PolicySnapshot).where(PolicySnapshot.content_hash == digest)).one()
    return row


def latest_version(session: Session, name: str) -> PolicyVersion | None:
    """The newest saved version of policy `name`, or None."""
    stmt = select(PolicyVersion).where(PolicyVersion.name == name).order_by(PolicyVersion.version.desc()).limit(1)
    return session.scalar(stmt)


def policy_names(session: Session) -> list[str]:
    """Every saved policy name, sorted."""
    return list(session.scalars(select(PolicyVersion.name).distinct().order_by(PolicyVersion.name)))


def load(session: Session, name: str) -> tuple[Policy, int]:
    """The newest version of policy `name`, parsed, with its version number."""
    row = latest_version(session, name)
    if row is None:
        known = ", ".join(policy_names(session)) or "none"
        raise PolicyError(f"No policy is called {name!r}. Saved policies: {known}.")
    # A saved version may predate a rule (every policy lists its roles): read it back, do not refuse it.
    return cached_policy(row.yaml_text, f"{name} v{row.version}", stored=True), row.version


def default_name(session: Session) -> str:
    """The team's default policy name."""
    setting = session.get(Setting, DEFAULT_SETTING)
    return str(setting.value) if setting is not None else FALLBACK_DEFAULT


def set_default(session: Session, *, name: str, actor_id: int | None, actor_name: str, now: dt.datetime) -> None:
    """Make `name` the policy the triage form preselects."""
    if latest_version(session, name) is None:
        raise PolicyError(f"No policy is called {name!r}.")
    before = default_name(session)
    setting = session.get(Setting, DEFAULT_SETTING)
    if setting is None:
        session.add(Setting(key=DEFAULT_SETTING, value=name, updated_at=now, updated_by_id=actor_id))
    else:
        setting.value, setting.updated_at, setting.updated_by_id = name, now, actor_id
    audit.record(session, actor_id=actor_id, actor_name=actor_name, entity_type="policy",
                 entity_id=name, action="set_default", changes={"default": [before, name]}, at=now)


def save_version(
    session: Session, *, name: str, yaml_text: str, actor_id: int | None, actor_name: str,
    now: dt.datetime, is_preset: bool = False,
) -> PolicyVersion:
    """Validate `yaml_text` and store it as the next version of policy `name` (audited with a diff)."""
    policy = cached_policy(yaml_text, f"{name}.yaml")
    if policy.name != name:
        raise PolicyError(f"{name}.yaml: name: the file says {policy.name!r}; it must be {name!r}.")
    previous = latest_version(session, name)
    number = (previous.version + 1) if previous else 1
    row = PolicyVersion(name=name, version=number, title=policy.title, source=policy.source,
                        yaml_text=yaml_text, is_preset=is_preset, created_by_id=actor_id, created_at=now)
    session.add(row)
    diff = "".join(difflib.unified_diff(
        (previous.yaml_text if previous else "").splitlines(keepends=True),
        yaml_text.splitlines(keepends=True),
        fromfile=f"{name} v{previous.version}" if previous else "(none)",
        tofile=f"{name} v{number}",
    ))
    audit.record(session, actor_id=actor_id, actor_name=actor_name, entity_type="policy", entity_id=name,
                 action="save_version", changes={"version": [previous.version if previous else None, number],
                                                 "diff": diff}, at=now)
    return row


def install_presets(session: Session, *, now: dt.datetime) -> list[str]:
    """Store each shipped preset that is missing or changed since the last shipped version."""
    added = []
    for name in preset_names():
        text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        latest = latest_version(session, name)
        if latest is None or (latest.is_preset and latest.yaml_text != text):
            save_version(session, name=name, yaml_text=text, actor_id=None, actor_name="system",
                         now=now, is_preset=True)
            added.append(name)
    return added


def version_count(session: Session, name: str) -> int:
    """How many versions of `name` exist."""
    return session.scalar(select(func.count()).where(PolicyVersion.name == name)) or 0


def versions(session: Session, name: str) -> list[PolicyVersion]:
    """Every version of policy `name`, newest first."""
    stmt = select(PolicyVersion).where(PolicyVersion.name == name).order_by(PolicyVersion.version.desc())
    return list(session.scalars(stmt))
