"""Reading and saving how one person is reached when paged: phone, quiet hours, ordered notification rules.

The profile page's "How I am paged" calls `how_reached` and `save_how_reached`; the pager
(`core.alerts.paging`) calls `rules_of`. Saving validates everything first (`core.oncall.reach`)
and then replaces the person's rules in one unit of work, audited. A person only ever changes
their own settings here. Never reads the clock (callers pass `now`), never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import audit
from core.oncall.reach import ReachError, ReachRule, check_phone, check_quiet_hours, check_rules
from db.models import NotificationRule, User


@dataclass(frozen=True)
class ReachSettings:
    """A person's paging settings as the profile page shows them (no rules: the default applies)."""

    phone: str
    quiet_from: str
    quiet_to: str
    rules: tuple[ReachRule, ...]


def rules_of(session: Session, user_id: int) -> list[ReachRule]:
    """The person's notification rules in order; [] when they set none."""
    rows = session.scalars(select(NotificationRule).where(NotificationRule.user_id == user_id)
                           .order_by(NotificationRule.position, NotificationRule.id))
    return [ReachRule(row.channel, row.delay_minutes) for row in rows]


def how_reached(session: Session, user_id: int) -> ReachSettings:
    """The person's phone, quiet hours and rules; ReachError when there is no such person."""
    user = session.get(User, user_id)
    if user is None:
        raise ReachError("This account no longer exists.")
    return ReachSettings(user.phone, user.quiet_from, user.quiet_to, tuple(rules_of(session, user_id)))


def save_how_reached(session: Session, user_id: int, *, phone: str, quiet_from: str, quiet_to: str,
                     rules: Sequence[ReachRule], now: dt.datetime) -> ReachSettings:
    """Validate and save the person's phone, quiet hours and rules (replacing them); ReachError says what to fix."""
    user = session.get(User, user_id)
    if user is None:
        raise ReachError("This account no longer exists.")
    phone = check_phone(phone)
    quiet_from, quiet_to = check_quiet_hours(quiet_from, quiet_to)
    checked = check_rules(rules, has_phone=bool(phone))
    before = how_reached(session, user_id)
    user.phone, user.quiet_from, user.quiet_to = phone, quiet_from, quiet_to
    session.execute(delete(NotificationRule).where(NotificationRule.user_id == user_id)
                    .execution_options(synchronize_session=False))
    session.add_all(NotificationRule(user_id=user_id, position=number, channel=rule.channel,
                                     delay_minutes=rule.delay_minutes, created_at=now)
                    for number, rule in enumerate(checked, start=1))
    session.flush()
    after = ReachSettings(phone, quiet_from, quiet_to, tuple(checked))
    changes = {name: [getattr(before, name), getattr(after, name)] for name in ("phone", "quiet_from", "quiet_to")
               if getattr(before, name) != getattr(after, name)}
    if before.rules != after.rules:
        changes["rules"] = [[f"{r.channel}+{r.delay_minutes}m" for r in before.rules],
                            [f"{r.channel}+{r.delay_minutes}m" for r in after.rules]]
    if changes:
        audit.record(session, actor_id=user_id, actor_name=user.display_name, entity_type="user",
                     entity_id=user_id, action="notification_rules", changes=changes, at=now)
    return after
