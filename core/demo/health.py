"""Demo health signals: a calm baseline for every demo account and one history per early-warning rule.

Called once from core.demo.dataset.load. Deterministic: the same `now` gives the same
readings on SQLite and PostgreSQL. Baseline readings end calm (the last error
rate is not above the one before, the last CSAT not below the one before), so
only the accounts picked below raise warnings under the default policy, besides
what the demo incidents themselves imply. Never imports streamlit; never reads
the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Account, HealthSignal

BASELINE_DAYS = 28
# Account position (by id order) -> the rule its history triggers under the default policy.
TRIGGERS: dict[int, str] = {
    1: "ticket-volume-surge",
    2: "repeat-tickets",
    4: "rising-errors",
    7: "satisfaction-dropping",
    10: "low-csat",
    13: "low-uptime",
    16: "metric-shortfall",
}


def load(session: Session, *, now: dt.datetime) -> int:
    """Store the demo readings for the demo accounts; returns how many were stored."""
    now = now.replace(minute=0, second=0, microsecond=0)
    midnight = now.replace(hour=0)
    accounts = list(session.scalars(select(Account.id).where(Account.archived_at.is_(None)).order_by(Account.id)))
    rows: list[HealthSignal] = []
    for position, account_id in enumerate(accounts):
        rule = TRIGGERS.get(position)
        rows += _baseline(account_id, position, midnight, skip=_metric_of(rule))
        if rule:
            rows += _HISTORIES[rule](account_id, now, midnight)
    for row in rows:
        row.source = "form"
        row.recorded_at = now
    session.add_all(rows)
    session.flush()
    return len(rows)


def _metric_of(rule: str | None) -> str | None:
    return {"ticket-volume-surge": None, "repeat-tickets": None, "rising-errors": "error_rate",
            "satisfaction-dropping": "csat", "low-csat": "csat", "low-uptime": "uptime_pct",
            "metric-shortfall": "key_metric"}.get(rule or "")


def _baseline(account_id: int, position: int, midnight: dt.datetime, *, skip: str | None) -> list[HealthSignal]:
    rows = []
    for day in range(BASELINE_DAYS, 0, -1):
        at = midnight - dt.timedelta(days=day) + dt.timedelta(hours=12)
        wobble = ((position * 7 + day * 3) % 5) / 10  # 0.0 .. 0.4, repeatable
        if skip != "uptime_pct":
            rows.append(HealthSignal(account_id=account_id, metric="uptime_pct", observed_at=at, value=99.5 + wobble))
        if skip != "error_rate":
            # Readings alternate around the account's level and end on a lower one: no rising run.
            value = 0.4 + wobble if day % 2 == 0 else 0.3
            rows.append(HealthSignal(account_id=account_id, metric="error_rate", observed_at=at,
                                     value=value if day > 1 else 0.2))
        if day % 7 == 0:
            if skip != "csat":
                rows.append(HealthSignal(account_id=account_id, metric="csat", observed_at=at,
                                         value=8.0 + wobble + (BASELINE_DAYS - day) / 28))  # slowly improving
            if skip != "key_metric":
                rows.append(HealthSignal(account_id=account_id, metric="key_metric", observed_at=at,
                                         value=95.0 + 10 * wobble, target=100.0))
    return rows


def _daily(account_id: int, metric: str, midnight: dt.datetime, values: list[float]) -> list[HealthSignal]:
    """Readings at midnight UTC of consecutive days, the last one today."""
    start = midnight - dt.timedelta(days=len(values) - 1)
    return [HealthSignal(account_id=account_id, metric=metric, observed_at=start + dt.timedelta(days=i), value=v)
            for i, v in enumerate(values)]


def _surge(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
    # Two weeks of ticket counts: 4 the week before, 9 this week (+125%).
    return _daily(account_id, "support_tickets", midnight, [1, 0, 1, 0, 1, 0, 1, 1, 2, 1, 2, 1, 1, 1])


def _repeat(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
    # Three tickets this week, as many as the week before: no surge, but a repeat customer.
    return _daily(account_id, "support_tickets", midnight, [1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0])


def _rising(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
    # An error rate read every 12 hours that has climbed for 60 hours.
    values = [0.3, 0.3, 0.5, 0.8, 1.1, 1.6, 2.2]
    return [HealthSignal(account_id=account_id, metric="error_rate", value=v,
                         observed_at=now - dt.timedelta(hours=12 * (len(values) - 1 - i)))
            for i, v in enumerate(values)]


def _csat(values: list[float]) -> Callable[[int, dt.datetime, dt.datetime], list[HealthSignal]]:
    def history(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
        return [HealthSignal(account_id=account_id, metric="csat", value=v,
                             observed_at=now - dt.timedelta(days=7 * (len(values) - 1 - i), hours=2))
                for i, v in enumerate(values)]
    return history


def _uptime(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
    return _daily(account_id, "uptime_pct", midnight - dt.timedelta(days=1), [99.8, 99.1, 97.5, 96.0, 93.2])


def _shortfall(account_id: int, now: dt.datetime, midnight: dt.datetime) -> list[HealthSignal]:
    return [HealthSignal(account_id=account_id, metric="key_metric", value=v, target=100.0,
                         observed_at=midnight - dt.timedelta(days=7 * (3 - i)))
            for i, v in enumerate([98.0, 91.0, 84.0, 72.0])]


_HISTORIES = {
    "ticket-volume-surge": _surge,
    "repeat-tickets": _repeat,
    "rising-errors": _rising,
    "satisfaction-dropping": _csat([8.8, 8.6, 8.1, 7.4]),
    "low-csat": _csat([8.2, 7.6, 7.1, 6.2]),
    "low-uptime": _uptime,
    "metric-shortfall": _shortfall,
}
