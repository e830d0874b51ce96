"""The SLA dashboard's aggregate queries, read from the summary tables `core.sla.projection` keeps current.

Attainment, duration histograms, breach heat, incidents per account, emergency
time, recent breaches and each policy objective measured, for one
`DashboardFilter` (whole weeks and the usual dimensions). Stopped clocks are
summed from the rollups, open clocks from the open rollups as recorded (running,
paused, breached); the only clocks judged against `now` are those recorded as
running whose deadline has passed since the scheduler last recorded breaches
(`core.sla.projection.record_breaches`), read through a partial index on their
deadline, so the figures are the same whether or not a pass has run. A filter on
one account reads the facts through their (account_id, week) index. Figures are
for a `now` at or after the last pass. Reads only: this module never writes,
never reads the clock (callers pass `now`) and never imports streamlit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import CTE, ColumnElement, FromClause, and_, case, func, literal, or_, select, true
from sqlalchemy.orm import Session

from core.people.access import Role
from core.policy.notation import duration_notation
from core.policy.schema import Policy
from core.sla.clocks import clock_label
from core.sla.metrics import (
    BUCKET_COLUMNS,
    BUCKETS,
    DURATION_BOUNDS,
    DURATION_METRICS,
    RESPONSE_CLOCKS,
    Attainment,
    ObjectiveResult,
    emergency_seconds,
    emergency_share,
    heat_in_zone,
    heat_of_moments,
    judge,
    measure_of,
    percentile_from_histogram,
    utc_quarter,
    week_start,
)
from core.sla.projection import (
    CLOSED,
    FACTS,
    HEAT,
    INCIDENT_ROLLUP,
    INCIDENTS,
    OPEN,
    OPEN_HEAT,
    OPEN_ROLLUP,
    OPEN_STATES,
    ROLLUP,
    RULE_ROLLUP,
    RUNNING,
    quarter_column,
)
from core.vocabulary import EMERGENCY_SEVERITIES, ClockState
from core.zones import UTC_NAME
from db.models import Account, Incident, User

# Dimensions a dashboard may group attainment by.
GROUPS = ("clock", "severity", "tier", "csm_id", "policy_name", "week", "account_id")
# The values of the grouped dimensions, in the order asked for (empty when not grouped).
GroupKey = tuple[Any, ...]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class DashboardFilter:
    """What the dashboard covers: whole weeks (Monday 00:00 to Sunday 24:00 UTC, the summary's week key) and the
    usual dimensions; empty means all."""

    week_from: dt.date | None = None
    week_to: dt.date | None = None  # the last week included (its Monday)
    severities: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    csm_ids: tuple[int, ...] = ()
    account_id: int | None = None
    clocks: tuple[str, ...] = field(default=())

    @staticmethod
    def for_dates(start: dt.date, end: dt.date, **kwargs: Any) -> DashboardFilter:
        """A filter over the whole weeks that contain `start` and `end`."""
        if end < start:
            raise ValueError("The end date is before the start date: pick a start date first, then the end.")
        return DashboardFilter(week_from=_monday(start), week_to=_monday(end), **kwargs)


def restrict(flt: DashboardFilter, *, role: Role, user_id: int) -> DashboardFilter:
    """The filter a user may see: a CSM only their own accounts, whatever they asked for."""
    if role is Role.CSM:
        return replace(flt, csm_ids=(user_id,))
    return flt


def _where(table: FromClause, flt: DashboardFilter, *, skip: Sequence[str] = ()) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.week_from is not None:
        conditions.append(table.c.week >= flt.week_from)
    if flt.week_to is not None:
        conditions.append(table.c.week <= flt.week_to)
    for column, values in (("severity", flt.severities), ("tier", flt.tiers), ("policy_name", flt.policies),
                           ("csm_id", flt.csm_ids), ("clock", flt.clocks)):
        if values and column in table.c and column not in skip:
            conditions.append(table.c[column].in_(values))
    if flt.account_id is not None and "account_id" in table.c:
        conditions.append(table.c.account_id == flt.account_id)
    return conditions


def _open_breached(now: dt.datetime) -> ColumnElement[bool]:
    # For the per-account paths only, which read that account's open facts anyway.
    return or_(FACTS.c.state == ClockState.BREACHED.value,
               and_(FACTS.c.state == ClockState.RUNNING.value, FACTS.c.deadline < now))


def _newly_breached(now: dt.datetime) -> ColumnElement[bool]:
    """Open clocks recorded as running whose deadline has passed: breached, though no pass has recorded it yet."""
    return and_(RUNNING, FACTS.c.deadline < now)


def _late_clocks(now: dt.datetime) -> CTE:
    """`_newly_breached` as a table read first and on its own, through its partial index.

    Materialised so that no filter (a week range, a clock) leads the planner to an index of every open
    clock: with a week range SQLite preferred the open clocks' week index and read them all.
    """
    return select(FACTS).where(_newly_breached(now)).cte("late_clocks").prefix_with("MATERIALIZED")


def attainment(session: Session, flt: DashboardFilter, *, now: dt.datetime,
               by: Sequence[str] = ("clock",)) -> dict[GroupKey, Attainment]:
    """Met / breached / running / paused clocks per group; a running clock past its deadline is breached."""
    if any(b not in GROUPS for b in by):
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    # The rollups have no account: a per-account view reads the facts (bounded by the week range).
    if flt.account_id is not None or "account_id" in by:
        return _attainment_of_facts(session, flt, now=now, by=by)
    result: dict[GroupKey, Attainment] = defaultdict(Attainment)
    cols = [ROLLUP.c[b] for b in by]
    stmt = select(*cols, func.sum(ROLLUP.c.met), func.sum(ROLLUP.c.breached)).where(*_where(ROLLUP, flt))
    for *key, met, breached in session.execute(stmt.group_by(*cols)):
        result[tuple(key)] += Attainment(met=int(met or 0), breached=int(breached or 0))
    cols = [OPEN_ROLLUP.c[b] for b in by]
    stmt = select(*cols, func.sum(OPEN_ROLLUP.c.breached), func.sum(OPEN_ROLLUP.c.running),
                  func.sum(OPEN_ROLLUP.c.paused)).where(*_where(OPEN_ROLLUP, flt))
    for *key, breached, running, paused in session.execute(stmt.group_by(*cols)):
        if breached or running or paused:  # cells emptied by later writes stay behind as zeros
            result[tuple(key)] += Attainment(breached=int(breached or 0), running=int(running or 0),
                                             paused=int(paused or 0))
    late_clocks = _late_clocks(now)
    late_cols = [late_clocks.c[b] for b in by]
    late = (select(*late_cols, func.count()).select_from(late_clocks).where(*_where(late_clocks, flt))
            .group_by(*late_cols))
    for *key, count in session.execute(late):
        result[tuple(key)] += Attainment(breached=int(count), running=-int(count))
    return dict(result)


def _attainment_of_facts(session: Session, flt: DashboardFilter, *, now: dt.datetime,
                         by: Sequence[str]) -> dict[GroupKey, Attainment]:
    result: dict[GroupKey, Attainment] = defaultdict(Attainment)
    cols = [FACTS.c[b] for b in by]
    stmt = select(*cols, func.sum(case((FACTS.c.state == ClockState.MET.value, 1), else_=0)),
                  func.sum(case((FACTS.c.state == ClockState.BREACHED.value, 1), else_=0)))
    for *key, met, breached in session.execute(stmt.where(CLOSED, *_where(FACTS, flt)).group_by(*cols)):
        result[tuple(key)] += Attainment(met=int(met or 0), breached=int(breached or 0))
    open_stmt = select(
        *cols,
        func.sum(case((_open_breached(now), 1), else_=0)),
        func.sum(case((and_(FACTS.c.state == ClockState.RUNNING.value, FACTS.c.deadline >= now), 1), else_=0)),
        func.sum(case((FACTS.c.state == ClockState.PAUSED.value, 1), else_=0)),
    ).where(OPEN, *_where(FACTS, flt)).group_by(*cols)
    for *key, breached, running, paused in session.execute(open_stmt):
        result[tuple(key)] += Attainment(breached=int(breached or 0), running=int(running or 0),
                                         paused=int(paused or 0))
    return dict(result)


def duration_histograms(session: Session, flt: DashboardFilter,
                        by: Sequence[str] = ("clock",)) -> dict[GroupKey, list[int]]:
    """Histogram of actual times (stopped clocks) per group, for the time-to-milestone clocks."""
    flt = replace(flt, clocks=flt.clocks or tuple(DURATION_METRICS))
    if flt.account_id is None:
        cols = [ROLLUP.c[b] for b in by]
        sums = [func.sum(ROLLUP.c[c]) for c in BUCKET_COLUMNS]
        rows = session.execute(select(*cols, *sums).where(*_where(ROLLUP, flt)).group_by(*cols))
    else:
        cols = [FACTS.c[b] for b in by]
        sums = [func.sum(case((FACTS.c.bucket == i, 1), else_=0)) for i in range(BUCKETS)]
        rows = session.execute(select(*cols, *sums).where(CLOSED, *_where(FACTS, flt))
                               .group_by(*cols))
    width = len(by)
    return {tuple(row[:width]): [int(v or 0) for v in row[width:]] for row in rows}


@dataclass(frozen=True)
class WithinCount:
    """Clocks done within a time: how many of the decided ones, and how many were decided."""

    within: int
    decided: int

    @property
    def pct(self) -> float | None:
        """The share done within the time, in %."""
        return None if self.decided == 0 else 100.0 * self.within / self.decided


def within_share(session: Session, flt: DashboardFilter, *, clock: str, seconds: int, now: dt.datetime,
                 target_seconds: int | None = None, rules: Sequence[str] = ()) -> WithinCount:
    """Clocks of `clock` stopped within `seconds` of detection, out of stopped ones plus open ones already past it.

    `seconds` must be a histogram bound (core.sla.metrics.DURATION_BOUNDS). With `rules`, only
    incidents where one of those rules fired count (read from the facts, not the rollups).
    """
    if seconds not in DURATION_BOUNDS:
        raise ValueError(f"{seconds} s is not a bound of the duration histogram")
    flt = replace(flt, clocks=(clock,))
    if rules:
        return _within_share_of_rules(session, flt, seconds=seconds, now=now, rules=rules)
    if flt.account_id is None:
        conditions = _where(ROLLUP, flt)
        if target_seconds is not None:
            conditions.append(ROLLUP.c.target_seconds == target_seconds)
        within, total = _summed_within(session, ROLLUP, conditions, seconds)
    else:
        conditions = _where(FACTS, flt)
        if target_seconds is not None:
            conditions.append(FACTS.c.target_seconds == target_seconds)
        within, total = _counted_within(session, select_from=FACTS, conditions=conditions, seconds=seconds)
    return WithinCount(within, total + _late_open(session, flt, now - dt.timedelta(seconds=seconds), now=now,
                                                  target_seconds=target_seconds))


def _summed_within(session: Session, rollup: FromClause, conditions: Sequence[ColumnElement[bool]],
                   seconds: int) -> tuple[int, int]:
    """(stopped within `seconds`, all stopped) summed from a rollup's duration histogram (`seconds`: a bound)."""
    upto = BUCKET_COLUMNS[: DURATION_BOUNDS.index(seconds) + 1]
    within, total = session.execute(select(
        func.sum(sum((rollup.c[c] for c in upto), literal(0))),
        func.sum(sum((rollup.c[c] for c in BUCKET_COLUMNS), literal(0)))).where(*conditions)).one()
    return int(within or 0), int(total or 0)


def _counted_within(session: Session, *, select_from: FromClause, conditions: Sequence[ColumnElement[bool]],
                    seconds: int) -> tuple[int, int]:
    """(stopped within `seconds`, all stopped) counted over the stopped clock facts of `select_from`."""
    within, total = session.execute(
        select(func.sum(case((FACTS.c.actual_seconds <= seconds, 1), else_=0)), func.count())
        .select_from(select_from).where(CLOSED, *conditions)).one()
    return int(within or 0), int(total or 0)


def _late_open(session: Session, flt: DashboardFilter, cut: dt.datetime, *, now: dt.datetime,
               target_seconds: int | None) -> int:
    """Open clocks detected before `cut`: sums of the open rollup, and the facts of the week of `cut` on one side."""
    fact_conditions = [OPEN, FACTS.c.detected_at < cut, *_where(FACTS, flt)]
    if target_seconds is not None:
        fact_conditions.append(FACTS.c.target_seconds == target_seconds)
    if flt.account_id is not None:
        return session.scalar(select(func.count()).where(*fact_conditions)) or 0
    # Open clocks are mostly recent: of the week of `cut`, read whichever side of `cut` is shorter, the
    # clocks before it (added to the earlier weeks) or those after it (taken from all open clocks).
    cut_week = week_start(cut)
    before = cut - dt.datetime.combine(cut_week, dt.time(), dt.UTC)
    conditions = _where(OPEN_ROLLUP, flt)
    if target_seconds is not None:
        conditions.append(OPEN_ROLLUP.c.target_seconds == target_seconds)
    counted = OPEN_ROLLUP.c.running + OPEN_ROLLUP.c.paused + OPEN_ROLLUP.c.breached
    if before <= now - cut:
        whole_weeks = session.scalar(select(func.sum(counted)).where(OPEN_ROLLUP.c.week < cut_week, *conditions))
        in_week = session.scalar(select(func.count()).where(FACTS.c.week >= cut_week, *fact_conditions))
        return int(whole_weeks or 0) + int(in_week or 0)
    every_open = session.scalar(select(func.sum(counted)).where(*conditions))
    recent = session.scalar(select(func.count()).where(
        OPEN, FACTS.c.state.in_(OPEN_STATES), FACTS.c.detected_at >= cut, *fact_conditions[2:]))
    return int(every_open or 0) - int(recent or 0)


def _within_share_of_rules(session: Session, flt: DashboardFilter, *, seconds: int, now: dt.datetime,
                           rules: Sequence[str]) -> WithinCount:
    """`within_share` over the incidents where one of `rules` fired.

    Stopped clocks are summed from the rule-set rollup (each incident counted once, under the set of rules
    it fired); open clocks detected before the cut are read from the open facts of the range, each checked
    against its incident's rules. A filter on one account reads the facts throughout.
    """
    cut = now - dt.timedelta(seconds=seconds)
    fired = or_(*(INCIDENTS.c.rules.like(f"%,{rule},%") for rule in rules))
    with_rules = FACTS.join(INCIDENTS, INCIDENTS.c.incident_id == FACTS.c.incident_id)
    late = select(func.count()).select_from(with_rules).where(OPEN, FACTS.c.detected_at < cut, *_where(FACTS, flt),
                                                              fired)
    late_open = int(session.scalar(late) or 0)
    if flt.account_id is not None:
        within, stopped = _counted_within(session, select_from=with_rules, conditions=[*_where(FACTS, flt), fired],
                                          seconds=seconds)
    else:
        matching = or_(*(RULE_ROLLUP.c.rules.like(f"%,{rule},%") for rule in rules))
        within, stopped = _summed_within(session, RULE_ROLLUP, [*_where(RULE_ROLLUP, flt), matching], seconds)
    return WithinCount(within, stopped + late_open)


def _incident_where(flt: DashboardFilter) -> list[ColumnElement[bool]]:
    return _where(INCIDENT_ROLLUP, flt)


def incident_totals(session: Session, flt: DashboardFilter) -> tuple[int, int]:
    """(incidents, repeat incidents) detected in the filter's range."""
    incidents, repeats = session.execute(select(
        func.sum(INCIDENT_ROLLUP.c.incidents), func.sum(INCIDENT_ROLLUP.c.repeats)).where(*_incident_where(flt))).one()
    return int(incidents or 0), int(repeats or 0)


@dataclass(frozen=True)
class AccountCount:
    """Incidents of one account in the range, and how many of them repeat an earlier one."""

    account_id: int
    name: str
    tier: str
    incidents: int
    repeats: int


def incidents_per_account(session: Session, flt: DashboardFilter, *, limit: int = 25) -> list[AccountCount]:
    """The accounts with the most incidents in the range, with their repeats (at most `limit`)."""
    top = (select(INCIDENT_ROLLUP.c.account_id, func.sum(INCIDENT_ROLLUP.c.incidents).label("n"),
                  func.sum(INCIDENT_ROLLUP.c.repeats).label("r"))
           .where(*_incident_where(flt)).group_by(INCIDENT_ROLLUP.c.account_id)
           .order_by(func.sum(INCIDENT_ROLLUP.c.incidents).desc(), INCIDENT_ROLLUP.c.account_id).limit(limit)
           .subquery())
    stmt = (select(top.c.account_id, Account.name, Account.tier, top.c.n, top.c.r)
            .join(Account, Account.id == top.c.account_id).order_by(top.c.n.desc(), top.c.account_id))
    return [AccountCount(a, name, tier, int(n), int(r)) for a, name, tier, n, r in session.execute(stmt)]


def emergency_by_week(session: Session, flt: DashboardFilter, *, now: dt.datetime) -> dict[dt.date, float]:
    """Seconds spent on P0/P1 incidents per detection week (open ones count up to `now`)."""
    flt = replace(flt, severities=tuple(s for s in (flt.severities or EMERGENCY_SEVERITIES)
                                        if s in EMERGENCY_SEVERITIES) or ("none",))
    result: dict[dt.date, float] = defaultdict(float)
    stmt = (select(INCIDENT_ROLLUP.c.week, func.sum(INCIDENT_ROLLUP.c.emergency_seconds))
            .where(*_incident_where(flt)).group_by(INCIDENT_ROLLUP.c.week))
    for week, seconds in session.execute(stmt):
        result[_as_date(week)] += float(seconds or 0)
    open_stmt = select(INCIDENTS.c.week, INCIDENTS.c.severity, INCIDENTS.c.detected_at).where(
        INCIDENTS.c.resolved_at.is_(None), *_where(INCIDENTS, flt))
    for week, severity, detected_at in session.execute(open_stmt):
        result[_as_date(week)] += emergency_seconds(severity, detected_at, None, now)
    return dict(result)


def breach_heat(session: Session, flt: DashboardFilter, *, now: dt.datetime,
                time_zone: str = UTC_NAME) -> dict[tuple[int, int], int]:
    """Breached clocks by weekday (0 = Monday) and hour of detection on the clocks of `time_zone`.

    The summary counts breaches per UTC quarter hour of detection (its week, weekday, hour and quarter).
    Each quarter is moved to the reader's zone with the offset of that very moment, which is exact
    whenever the zone's offset is a whole number of quarter hours through it: every zone in use today,
    +05:30 and +05:45 included, DST too. Only for an offset of odd minutes (historical local mean times)
    are the breached clocks' own detection times read instead.
    """
    quarters = _heat_by_utc_quarter(session, flt, now=now)
    by_hour = heat_in_zone(((utc_quarter(as_date(week), int(weekday), int(hour), int(quarter)), count)
                            for (week, weekday, hour, quarter), count in quarters.items()), time_zone)
    if by_hour is None:
        by_hour = heat_of_moments(_breached_detections(session, flt, now=now), time_zone)
    return {cell: count for cell, count in by_hour.items() if count}


def _heat_by_utc_quarter(session: Session, flt: DashboardFilter, *,
                         now: dt.datetime) -> dict[tuple[Any, int, int, int], int]:
    """Breached clocks per UTC quarter hour of detection, keyed (week, weekday, hour, quarter)."""
    result: dict[tuple[Any, int, int, int], int] = defaultdict(int)
    if flt.account_id is None and not flt.clocks:
        summed: list[FromClause] = [HEAT, OPEN_HEAT]
        facts = []
    else:
        summed = []
        facts = [and_(CLOSED, FACTS.c.state == ClockState.BREACHED.value),
                 and_(OPEN, FACTS.c.state == ClockState.BREACHED.value)]
    statements = []
    for table in summed:
        quarter_of_row = (table.c.week, table.c.weekday, table.c.hour, table.c.quarter)
        statements.append(select(*quarter_of_row, func.sum(table.c.breached)).where(*_where(table, flt))
                          .group_by(*quarter_of_row))
    dialect = session.get_bind().dialect.name
    quarter_of_fact = (FACTS.c.week, FACTS.c.weekday, FACTS.c.hour, quarter_column(FACTS.c.detected_at, dialect))
    statements += [select(*quarter_of_fact, func.count()).where(condition, *_where(FACTS, flt))
                   .group_by(*quarter_of_fact) for condition in facts]
    late = _late_clocks(now)
    late_quarter = (late.c.week, late.c.weekday, late.c.hour, quarter_column(late.c.detected_at, dialect))
    statements.append(select(*late_quarter, func.count()).where(*_where(late, flt)).group_by(*late_quarter))
    for stmt in statements:
        for week, weekday, hour, quarter, count in session.execute(stmt):
            result[(as_date(week), int(weekday), int(hour), int(quarter))] += int(count or 0)
    return dict(result)


def _breached_detections(session: Session, flt: DashboardFilter, *, now: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """Breached clocks per detection moment (the clocks of one incident share it), stopped and open ones."""
    moments = []
    late = _late_clocks(now)
    for table, condition in ((FACTS, and_(CLOSED, FACTS.c.state == ClockState.BREACHED.value)),
                             (FACTS, and_(OPEN, FACTS.c.state == ClockState.BREACHED.value)), (late, true())):
        stmt = (select(table.c.detected_at, func.count()).where(condition, *_where(table, flt))
                .group_by(table.c.detected_at))
        moments += [(detected_at, int(count)) for detected_at, count in session.execute(stmt)]
    return moments


@dataclass(frozen=True)
class BreachRow:
    """One breached clock, for the table that links to its incident."""

    incident_id: int
    title: str
    account: str
    severity: str
    policy_name: str
    clock: str
    detected_at: dt.datetime
    deadline: dt.datetime
    stopped_at: dt.datetime | None
    target_seconds: int
    actual_seconds: int | None


def recent_breaches(session: Session, flt: DashboardFilter, *, now: dt.datetime, limit: int = 200) -> list[BreachRow]:
    """The most recently detected breached clocks in the filter (at most `limit`), newest first."""
    picked = []
    # Detection bounds as well as weeks: the newest breaches come straight off the
    # (is_open, state, detected_at) index instead of a sort of the whole range.
    def bounds(table: FromClause) -> list[ColumnElement[bool]]:
        found = []
        if flt.week_from is not None:
            found.append(table.c.detected_at >= dt.datetime.combine(flt.week_from, dt.time(), dt.UTC))
        if flt.week_to is not None:
            found.append(table.c.detected_at < dt.datetime.combine(flt.week_to + dt.timedelta(days=7), dt.time(),
                                                                   dt.UTC))
        return found

    late = _late_clocks(now)
    for table, condition in ((FACTS, and_(CLOSED, FACTS.c.state == ClockState.BREACHED.value)),
                             (FACTS, and_(OPEN, FACTS.c.state == ClockState.BREACHED.value)), (late, true())):
        stmt = (select(table.c.incident_id, table.c.clock, table.c.detected_at)
                .where(condition, *bounds(table), *_where(table, flt))
                .order_by(table.c.detected_at.desc(), table.c.incident_id.desc()).limit(limit))
        picked += [tuple(r) for r in session.execute(stmt)]
    picked = sorted(picked, key=lambda r: (r[2], r[0]), reverse=True)[:limit]
    if not picked:
        return []
    ids = {r[0] for r in picked}
    # In BreachRow's field order: each row becomes one by position (Row._asdict builds the row's keys anew
    # on every call, which took most of this function's time with 200 breaches).
    stmt = (select(FACTS.c.incident_id, Incident.title, Account.name.label("account"), FACTS.c.severity,
                   FACTS.c.policy_name, FACTS.c.clock, FACTS.c.detected_at, FACTS.c.deadline, FACTS.c.stopped_at,
                   FACTS.c.target_seconds, FACTS.c.actual_seconds)
            .join(Incident, Incident.id == FACTS.c.incident_id).join(Account, Account.id == FACTS.c.account_id)
            .where(FACTS.c.incident_id.in_(ids)))
    assert [c.name for c in stmt.selected_columns] == [f.name for f in dataclasses.fields(BreachRow)]
    found = [BreachRow(*tuple(r)) for r in session.execute(stmt)]
    rows = {(b.incident_id, b.clock): b for b in found}
    return [rows[(i, c)] for i, c, _ in picked if (i, c) in rows]


def data_version(session: Session) -> tuple[dt.datetime | None, int | None]:
    """A cheap value that changes whenever any incident is written (the page's cache key)."""
    # Two statements: SQLite answers a lone max() from the index, two in one query by a scan.
    return (session.scalar(select(func.max(INCIDENTS.c.updated_at))),
            session.scalar(select(func.max(INCIDENTS.c.incident_id))))


def csm_people(session: Session) -> list[tuple[int, str]]:
    """Active CSMs and leads who own accounts, as (id, name), for the CSM filter."""
    stmt = (select(User.id, User.display_name).where(User.is_active.is_(True),
                                                     User.id.in_(select(Account.owner_id)))
            .order_by(User.display_name))
    return [(uid, name) for uid, name in session.execute(stmt)]


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_date(value: object) -> dt.date:
    """A week key as a date (SQLite may hand back text)."""
    return _as_date(value)


# --------------------------------------------------------------------------
# Policy objectives as target lines.


def range_weeks(flt: DashboardFilter) -> int:
    """How many weeks the filter covers (1 when open-ended)."""
    if flt.week_from is None or flt.week_to is None:
        return 1
    return (flt.week_to - flt.week_from).days // 7 + 1


def objective_results(
    session: Session, flt: DashboardFilter, *, now: dt.datetime, policies: Mapping[str, Policy], people: int,
    hours_per_week: float,
) -> list[ObjectiveResult]:
    """Every measurable objective of the given policies ({name: Policy}), measured on that policy's incidents."""
    results = []
    for name, policy in policies.items():
        if flt.policies and name not in flt.policies:
            continue
        scoped = replace(flt, policies=(name,))
        for objective in policy.objectives:
            kind = measure_of(objective)
            if kind is None:
                continue
            severities = tuple(s for s in objective.severities if not flt.severities or s in flt.severities)
            if objective.severities and not severities:
                continue
            narrowed = replace(scoped, severities=severities or scoped.severities)
            actual, basis = None, ""
            # measure_of names a clock measure only for an objective with a clock (and `within` for a share).
            clock, within = objective.clock, objective.within
            if kind == "within_share":
                assert clock is not None and within is not None
                seconds = int(within.total_seconds())
                label = clock_label(clock).lower()
                if seconds not in DURATION_BOUNDS:
                    basis = f"{duration_notation(within)} is not a bound of the duration histogram"
                else:
                    by_target = not objective.severities and not objective.rules
                    count = within_share(session, narrowed, clock=clock, seconds=seconds, now=now,
                                         target_seconds=seconds if by_target else None, rules=objective.rules)
                    actual = count.pct
                    whose = (f" with a {duration_notation(within)} target" if by_target else
                             f" of incidents matching {', '.join(objective.rules)}" if objective.rules else "")
                    basis = (f"{count.within} of {count.decided} '{label}' clocks{whose} done within "
                             f"{duration_notation(within)}")
            elif kind == "median_duration":
                assert clock is not None
                hist = duration_histograms(session, replace(narrowed, clocks=(clock,)), by=()).get((), [])
                actual = percentile_from_histogram(hist, 0.5) if hist else None
                basis = f"median of {sum(hist)} stopped '{clock_label(clock).lower()}' clocks"
            elif kind == "response_attainment":
                counts = sum(attainment(session, replace(narrowed, clocks=RESPONSE_CLOCKS), now=now, by=()).values(),
                             Attainment())
                actual = counts.pct
                basis = f"{counts.met} of {counts.decided} acknowledgements and level responses within their target"
            elif kind == "repeat_share":
                incidents, repeats = incident_totals(session, narrowed)
                actual = 100.0 * repeats / incidents if incidents else None
                basis = f"{repeats} of {incidents} incidents repeat one of the same account"
            elif kind == "emergency_share":
                spent = sum(emergency_by_week(session, narrowed, now=now).values())
                weeks = range_weeks(flt)
                actual = emergency_share(spent, people, weeks, hours_per_week)
                basis = (f"{spent / 3600:,.0f} h on P0/P1 against {people} people x {hours_per_week:g} h x "
                         f"{weeks} weeks")
            results.append(judge(name, objective, actual, basis))
    return results
