"""The SLA summary: keeps per-clock and per-incident facts and their weekly rollups current, and queries them.

Every incident write calls `sync_incident` (from
`core.incident.flows.refresh_next_deadline`) in the same unit of work: it replaces
the incident's fact rows and applies the difference to the rollups, so
dashboard figures are sums over a few thousand rollup rows instead of scans
of every incident. Rollups only hold stopped clocks: whether an open clock
has breached depends on `now`, so open clocks (few) are read from the fact
table and classified at query time. A filter on one account reads the fact
table through its (account_id, week) index. `backfill` fills the summary for
a database that has incidents but no summary yet; `rebuild_rollups` recomputes
the rollups from the facts in bulk. This module never imports streamlit,
never reads the clock and never loads all incidents into memory outside
`backfill`, which works in batches.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Table, and_, case, delete, false, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from core.people.access import Role
from core.sla.clocks import SlaClock, compute_clocks
from core.sla.facts import facts_of, policy_of
from core.sla.metrics import (
    BUCKET_COLUMNS,
    BUCKETS,
    DEFAULT_REPEAT_WINDOW,
    DURATION_METRICS,
    TRACKED_CLOCKS,
    Attainment,
    ClockFact,
    clock_fact,
    emergency_seconds,
    repeat_flags,
    week_start,
)
from core.vocabulary import EMERGENCY_SEVERITIES
from db.models import (
    SLA_BUCKET_COLUMNS,
    Account,
    Incident,
    IncidentFact,
    IncidentRollup,
    SlaBreachHeat,
    SlaClockFact,
    SlaPause,
    SlaRollup,
    User,
)

assert BUCKET_COLUMNS == SLA_BUCKET_COLUMNS, "core.sla.metrics and db.models disagree on the duration buckets"

FACTS: Table = SlaClockFact.__table__
ROLLUP: Table = SlaRollup.__table__
HEAT: Table = SlaBreachHeat.__table__
INCIDENTS: Table = IncidentFact.__table__
INCIDENT_ROLLUP: Table = IncidentRollup.__table__
# Equality, not IS: SQLite only uses an index for `is_open = 1`.
_OPEN = FACTS.c.is_open == true()
_CLOSED = FACTS.c.is_open == false()

ROLLUP_KEY = ("week", "clock", "severity", "tier", "csm_id", "policy_name", "target_seconds")
HEAT_KEY = ("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour")
INCIDENT_KEY = ("week", "account_id", "severity", "tier", "csm_id", "policy_name")
# Dimensions a dashboard may group attainment by.
GROUPS = ("clock", "severity", "tier", "csm_id", "policy_name", "week", "account_id")


# --------------------------------------------------------------------------
# Building the rows of one incident.


@dataclass(frozen=True)
class IncidentDims:
    """What the summary files an incident under."""

    incident_id: int
    account_id: int
    csm_id: int
    severity: str
    tier: str
    policy_name: str
    detected_at: dt.datetime

    def as_row(self) -> dict:
        """The dimension columns shared by the fact tables."""
        moment = self.detected_at.astimezone(dt.UTC)
        return {"incident_id": self.incident_id, "account_id": self.account_id, "csm_id": self.csm_id,
                "severity": self.severity, "tier": self.tier, "policy_name": self.policy_name,
                "detected_at": self.detected_at, "week": week_start(moment)}


def dims_of(incident: Incident) -> IncidentDims:
    """The summary dimensions of an incident row (tier as its clocks use it, CSM = account owner now)."""
    return IncidentDims(
        incident_id=incident.id, account_id=incident.account_id, csm_id=incident.account.owner_id or 0,
        severity=incident.severity, tier=incident.answers.get("customer_tier") or incident.account.tier or "",
        policy_name=incident.policy_name, detected_at=incident.detected_at,
    )


def clock_rows(dims: IncidentDims, clocks: Iterable[SlaClock]) -> list[dict]:
    """The sla_clock_facts rows for an incident's computed clocks (one-shot clocks only)."""
    base = dims.as_row()
    moment = dims.detected_at.astimezone(dt.UTC)
    rows = []
    for clock in clocks:
        if clock.clock not in TRACKED_CLOCKS:
            continue
        fact = clock_fact(clock, dims.detected_at)
        rows.append({**base, "clock": fact.clock, "weekday": moment.weekday(), "hour": moment.hour,
                     "target_seconds": fact.target_seconds, "deadline": fact.deadline,
                     "stopped_at": fact.stopped_at, "actual_seconds": fact.actual_seconds, "bucket": fact.bucket,
                     "state": fact.state, "is_open": fact.is_open})
    return rows


def incident_row(dims: IncidentDims, *, resolved_at: dt.datetime | None, is_repeat: bool,
                 now: dt.datetime) -> dict:
    """The incident_facts row of an incident."""
    emergency = (emergency_seconds(dims.severity, dims.detected_at, resolved_at, now)
                 if resolved_at is not None and dims.severity in EMERGENCY_SEVERITIES else None)
    base = dims.as_row()
    return {key: base[key] for key in ("incident_id", "account_id", "csm_id", "severity", "tier", "policy_name",
                                       "detected_at", "week")} | {
        "resolved_at": resolved_at, "is_repeat": is_repeat, "emergency_seconds": emergency, "updated_at": now}


# --------------------------------------------------------------------------
# Incremental maintenance.


def _upsert(session: Session, table: Table, key: Sequence[str], rows: dict[tuple, dict[str, float]]) -> None:
    """Add the increments in `rows` ({key values: {column: delta}}) to the rollup rows, creating missing ones."""
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Always the same order: two writers touching the same cells lock them alike (no deadlock).
    for key_values, increments in sorted(rows.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        increments = {c: v for c, v in increments.items() if v}
        if not increments:
            continue
        values = dict(zip(key, key_values, strict=True)) | increments
        stmt = make(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: table.c[c] + stmt.excluded[c] for c in increments})
        session.execute(stmt)


def _clock_contribution(row: dict, sign: int, rollup: dict, heat: dict) -> None:
    if row["is_open"]:
        return
    key = tuple(row[k] for k in ROLLUP_KEY)
    cell = rollup.setdefault(key, defaultdict(int))
    cell[row["state"]] += sign
    cell[BUCKET_COLUMNS[row["bucket"]]] += sign
    if row["state"] == "breached":
        heat_cell = heat.setdefault(tuple(row[k] for k in HEAT_KEY), defaultdict(int))
        heat_cell["breached"] += sign


def _incident_contribution(row: dict, sign: int, rollup: dict) -> None:
    cell = rollup.setdefault(tuple(row[k] for k in INCIDENT_KEY), defaultdict(float))
    cell["incidents"] += sign
    cell["repeats"] += sign * int(bool(row["is_repeat"]))
    cell["emergency_seconds"] += sign * (row["emergency_seconds"] or 0.0)


def _previous_detection(session: Session, dims: IncidentDims, window: dt.timedelta) -> dt.datetime | None:
    stmt = select(func.max(INCIDENTS.c.detected_at)).where(
        INCIDENTS.c.account_id == dims.account_id, INCIDENTS.c.incident_id != dims.incident_id,
        INCIDENTS.c.detected_at >= dims.detected_at - window,
        or_(INCIDENTS.c.detected_at < dims.detected_at,
            and_(INCIDENTS.c.detected_at == dims.detected_at, INCIDENTS.c.incident_id < dims.incident_id)))
    return session.scalar(stmt)


def _mark_followers(session: Session, dims: IncidentDims, window: dt.timedelta, rollup: dict) -> None:
    # An incident recorded late (detected before others of the same account)
    # makes the later ones within the window repeats.
    followers = session.execute(select(INCIDENTS).where(
        INCIDENTS.c.account_id == dims.account_id, INCIDENTS.c.is_repeat == false(),
        INCIDENTS.c.detected_at <= dims.detected_at + window,
        or_(INCIDENTS.c.detected_at > dims.detected_at,
            and_(INCIDENTS.c.detected_at == dims.detected_at, INCIDENTS.c.incident_id > dims.incident_id)),
    )).mappings().all()
    for follower in followers:
        old = dict(follower)
        _incident_contribution(old, -1, rollup)
        _incident_contribution(old | {"is_repeat": True}, +1, rollup)
        session.execute(update(INCIDENTS).where(INCIDENTS.c.incident_id == old["incident_id"]).values(is_repeat=True))


def sync_incident(session: Session, incident: Incident, clocks: Sequence[SlaClock], now: dt.datetime,
                  *, window: dt.timedelta = DEFAULT_REPEAT_WINDOW) -> None:
    """Make the incident's summary rows match its clocks at `now`, applying the difference to the rollups."""
    dims = dims_of(incident)
    new_clocks = clock_rows(dims, clocks)
    old_clocks = [dict(r) for r in session.execute(
        select(FACTS).where(FACTS.c.incident_id == dims.incident_id)).mappings()]
    old_incident = session.execute(
        select(INCIDENTS).where(INCIDENTS.c.incident_id == dims.incident_id)).mappings().first()
    rollup: dict = {}
    heat: dict = {}
    incident_rollup: dict = {}
    for row in old_clocks:
        _clock_contribution(row, -1, rollup, heat)
    for row in new_clocks:
        _clock_contribution(row, +1, rollup, heat)
    if old_incident is None:
        repeat = _previous_detection(session, dims, window) is not None
        _mark_followers(session, dims, window, incident_rollup)
    else:
        repeat = bool(old_incident["is_repeat"])
        _incident_contribution(dict(old_incident), -1, incident_rollup)
    new_incident = incident_row(dims, resolved_at=incident.resolved_at, is_repeat=repeat, now=now)
    _incident_contribution(new_incident, +1, incident_rollup)

    session.execute(delete(FACTS).where(FACTS.c.incident_id == dims.incident_id))
    if new_clocks:
        session.execute(insert(FACTS), new_clocks)
    if old_incident is None:
        session.execute(insert(INCIDENTS), [new_incident])
    else:
        session.execute(update(INCIDENTS).where(INCIDENTS.c.incident_id == dims.incident_id).values(**{
            k: v for k, v in new_incident.items() if k != "incident_id"}))
    _upsert(session, ROLLUP, ROLLUP_KEY, rollup)
    _upsert(session, HEAT, HEAT_KEY, heat)
    _upsert(session, INCIDENT_ROLLUP, INCIDENT_KEY, incident_rollup)


# --------------------------------------------------------------------------
# Bulk: backfill an existing database, rebuild the rollups.


def rebuild_rollups(session: Session) -> None:
    """Recompute the three rollup tables from the fact tables in bulk (SQL GROUP BY)."""
    for table in (ROLLUP, HEAT, INCIDENT_ROLLUP):
        session.execute(delete(table))
    closed = _CLOSED
    keys = [FACTS.c[k] for k in ROLLUP_KEY]
    counts = [func.sum(case((FACTS.c.state == "met", 1), else_=0)),
              func.sum(case((FACTS.c.state == "breached", 1), else_=0))]
    buckets = [func.sum(case((FACTS.c.bucket == i, 1), else_=0)) for i in range(BUCKETS)]
    session.execute(insert(ROLLUP).from_select(
        [*ROLLUP_KEY, "met", "breached", *BUCKET_COLUMNS],
        select(*keys, *counts, *buckets).where(closed).group_by(*keys)))
    heat_keys = [FACTS.c[k] for k in HEAT_KEY]
    session.execute(insert(HEAT).from_select(
        [*HEAT_KEY, "breached"],
        select(*heat_keys, func.count()).where(closed, FACTS.c.state == "breached").group_by(*heat_keys)))
    incident_keys = [INCIDENTS.c[k] for k in INCIDENT_KEY]
    session.execute(insert(INCIDENT_ROLLUP).from_select(
        [*INCIDENT_KEY, "incidents", "repeats", "emergency_seconds"],
        select(*incident_keys, func.count(), func.sum(case((INCIDENTS.c.is_repeat == true(), 1), else_=0)),
               func.coalesce(func.sum(INCIDENTS.c.emergency_seconds), literal(0.0)))
        .group_by(*incident_keys)))


def apply_repeat_flags(session: Session, *, window: dt.timedelta = DEFAULT_REPEAT_WINDOW) -> None:
    """Set every incident fact's repeat flag from the detections of its account (bulk)."""
    detections = [tuple(r) for r in session.execute(
        select(INCIDENTS.c.incident_id, INCIDENTS.c.account_id, INCIDENTS.c.detected_at))]
    flags = repeat_flags(detections, window)
    for value in (True, False):
        ids = [i for i, flag in flags.items() if flag is value]
        for start in range(0, len(ids), 5000):
            session.execute(update(INCIDENTS).where(INCIDENTS.c.incident_id.in_(ids[start:start + 5000]))
                            .values(is_repeat=value))


def summary_is_missing(session: Session) -> bool:
    """True when incidents exist without summary rows (after the migration on an existing database)."""
    without = select(Incident.id).where(~Incident.id.in_(select(INCIDENTS.c.incident_id))).limit(1)
    return session.scalar(without) is not None


def backfill(session: Session, *, now: dt.datetime, batch: int = 1000) -> int:
    """Compute summary rows for every incident that has none, then rebuild the rollups; returns how many."""
    done = 0
    last_id = 0
    while True:
        ids = list(session.scalars(
            select(Incident.id).where(Incident.id > last_id, ~Incident.id.in_(select(INCIDENTS.c.incident_id)))
            .order_by(Incident.id).limit(batch)))
        if not ids:
            break
        last_id = ids[-1]
        incidents = session.scalars(select(Incident).where(Incident.id.in_(ids))
                                    .options(selectinload(Incident.account))).all()
        pauses: dict[int, list[SlaPause]] = defaultdict(list)
        for pause in session.scalars(select(SlaPause).where(SlaPause.incident_id.in_(ids))
                                     .order_by(SlaPause.started_at)):
            pauses[pause.incident_id].append(pause)
        clock_batch, incident_batch = [], []
        for incident in incidents:
            dims = dims_of(incident)
            clocks = compute_clocks(facts_of(incident, pauses[incident.id]), policy_of(incident), now)
            clock_batch += clock_rows(dims, clocks)
            incident_batch.append(incident_row(dims, resolved_at=incident.resolved_at, is_repeat=False, now=now))
        if clock_batch:
            session.execute(insert(FACTS), clock_batch)
        session.execute(insert(INCIDENTS), incident_batch)
        session.expunge_all()
        done += len(ids)
    if done:
        apply_repeat_flags(session)
        rebuild_rollups(session)
    return done


# --------------------------------------------------------------------------
# Queries.


@dataclass(frozen=True)
class DashboardFilter:
    """What the dashboard covers: whole weeks (Monday, UTC) and the usual dimensions; empty means all."""

    week_from: dt.date | None = None
    week_to: dt.date | None = None  # the last week included (its Monday)
    severities: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    csm_ids: tuple[int, ...] = ()
    account_id: int | None = None
    clocks: tuple[str, ...] = field(default=())

    @staticmethod
    def for_dates(start: dt.date, end: dt.date, **kwargs) -> DashboardFilter:
        """A filter over the whole weeks that contain `start` and `end`."""
        if end < start:
            raise ValueError("The end date is before the start date: pick a start date first, then the end.")
        monday = lambda d: d - dt.timedelta(days=d.weekday())  # noqa: E731
        return DashboardFilter(week_from=monday(start), week_to=monday(end), **kwargs)


def restrict(flt: DashboardFilter, *, role: Role, user_id: int) -> DashboardFilter:
    """The filter a user may see: a CSM only their own accounts, whatever they asked for."""
    if role is Role.CSM:
        return replace(flt, csm_ids=(user_id,))
    return flt


def _where(table: Table, flt: DashboardFilter, *, skip: Sequence[str] = ()) -> list:
    conditions = []
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


def _open_breached(now: dt.datetime):
    return or_(FACTS.c.state == "breached", and_(FACTS.c.state == "running", FACTS.c.deadline < now))


def attainment(session: Session, flt: DashboardFilter, *, now: dt.datetime,
               by: Sequence[str] = ("clock",)) -> dict[tuple, Attainment]:
    """Met / breached / running / paused clocks per group; a running clock past its deadline is breached."""
    if any(b not in GROUPS for b in by):
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    result: dict[tuple, Attainment] = defaultdict(Attainment)
    # The rollups have no account: a per-account view reads the facts (bounded by the week range).
    if flt.account_id is None and "account_id" not in by:
        cols = [ROLLUP.c[b] for b in by]
        stmt = select(*cols, func.sum(ROLLUP.c.met), func.sum(ROLLUP.c.breached)).where(*_where(ROLLUP, flt))
        rows = session.execute(stmt.group_by(*cols))
    else:
        cols = [FACTS.c[b] for b in by]
        stmt = select(*cols, func.sum(case((FACTS.c.state == "met", 1), else_=0)),
                      func.sum(case((FACTS.c.state == "breached", 1), else_=0)))
        rows = session.execute(stmt.where(_CLOSED, *_where(FACTS, flt)).group_by(*cols))
    for *key, met, breached in rows:
        result[tuple(key)] += Attainment(met=int(met or 0), breached=int(breached or 0))
    cols = [FACTS.c[b] for b in by]
    open_stmt = select(
        *cols,
        func.sum(case((_open_breached(now), 1), else_=0)),
        func.sum(case((and_(FACTS.c.state == "running", FACTS.c.deadline >= now), 1), else_=0)),
        func.sum(case((FACTS.c.state == "paused", 1), else_=0)),
    ).where(_OPEN, *_where(FACTS, flt)).group_by(*cols)
    for *key, breached, running, paused in session.execute(open_stmt):
        result[tuple(key)] += Attainment(breached=int(breached or 0), running=int(running or 0),
                                         paused=int(paused or 0))
    return dict(result)


def duration_histograms(session: Session, flt: DashboardFilter,
                        by: Sequence[str] = ("clock",)) -> dict[tuple, list[int]]:
    """Histogram of actual times (stopped clocks) per group, for the time-to-milestone clocks."""
    flt = replace(flt, clocks=flt.clocks or tuple(DURATION_METRICS))
    if flt.account_id is None:
        cols = [ROLLUP.c[b] for b in by]
        sums = [func.sum(ROLLUP.c[c]) for c in BUCKET_COLUMNS]
        rows = session.execute(select(*cols, *sums).where(*_where(ROLLUP, flt)).group_by(*cols))
    else:
        cols = [FACTS.c[b] for b in by]
        sums = [func.sum(case((FACTS.c.bucket == i, 1), else_=0)) for i in range(BUCKETS)]
        rows = session.execute(select(*cols, *sums).where(_CLOSED, *_where(FACTS, flt))
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
                 target_seconds: int | None = None) -> WithinCount:
    """Clocks of `clock` stopped within `seconds` of detection, out of stopped ones plus open ones already past it.

    `seconds` must be a histogram bound (core.sla.metrics.DURATION_BOUNDS).
    """
    from core.sla.metrics import DURATION_BOUNDS

    if seconds not in DURATION_BOUNDS:
        raise ValueError(f"{seconds} s is not a bound of the duration histogram")
    flt = replace(flt, clocks=(clock,))
    upto = BUCKET_COLUMNS[: DURATION_BOUNDS.index(seconds) + 1]
    if flt.account_id is None:
        conditions = _where(ROLLUP, flt)
        if target_seconds is not None:
            conditions.append(ROLLUP.c.target_seconds == target_seconds)
        within, total = session.execute(select(
            func.sum(sum((ROLLUP.c[c] for c in upto), literal(0))),
            func.sum(sum((ROLLUP.c[c] for c in BUCKET_COLUMNS), literal(0)))).where(*conditions)).one()
    else:
        conditions = [_CLOSED, *_where(FACTS, flt)]
        if target_seconds is not None:
            conditions.append(FACTS.c.target_seconds == target_seconds)
        within, total = session.execute(select(
            func.sum(case((FACTS.c.actual_seconds <= seconds, 1), else_=0)), func.count()).where(*conditions)).one()
    open_conditions = [_OPEN, FACTS.c.detected_at < now - dt.timedelta(seconds=seconds),
                       *_where(FACTS, flt)]
    if target_seconds is not None:
        open_conditions.append(FACTS.c.target_seconds == target_seconds)
    late_open = session.scalar(select(func.count()).where(*open_conditions)) or 0
    return WithinCount(int(within or 0), int(total or 0) + late_open)


def _incident_where(flt: DashboardFilter) -> list:
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


def breach_heat(session: Session, flt: DashboardFilter, *, now: dt.datetime) -> dict[tuple[int, int], int]:
    """Breached clocks by weekday (0 = Monday) and hour of detection, UTC."""
    result: dict[tuple[int, int], int] = defaultdict(int)
    if flt.account_id is None and not flt.clocks:
        stmt = (select(HEAT.c.weekday, HEAT.c.hour, func.sum(HEAT.c.breached)).where(*_where(HEAT, flt))
                .group_by(HEAT.c.weekday, HEAT.c.hour))
    else:
        stmt = (select(FACTS.c.weekday, FACTS.c.hour, func.count())
                .where(_CLOSED, FACTS.c.state == "breached", *_where(FACTS, flt))
                .group_by(FACTS.c.weekday, FACTS.c.hour))
    for weekday, hour, count in session.execute(stmt):
        result[(int(weekday), int(hour))] += int(count or 0)
    open_stmt = (select(FACTS.c.weekday, FACTS.c.hour, func.count())
                 .where(_OPEN, _open_breached(now), *_where(FACTS, flt))
                 .group_by(FACTS.c.weekday, FACTS.c.hour))
    for weekday, hour, count in session.execute(open_stmt):
        result[(int(weekday), int(hour))] += int(count)
    return {k: v for k, v in result.items() if v}


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
    bounds = []
    if flt.week_from is not None:
        bounds.append(FACTS.c.detected_at >= dt.datetime.combine(flt.week_from, dt.time(), dt.UTC))
    if flt.week_to is not None:
        bounds.append(FACTS.c.detected_at < dt.datetime.combine(flt.week_to + dt.timedelta(days=7), dt.time(), dt.UTC))
    for condition in (and_(_CLOSED, FACTS.c.state == "breached"),
                      and_(_OPEN, _open_breached(now))):
        stmt = (select(FACTS.c.incident_id, FACTS.c.clock, FACTS.c.detected_at)
                .where(condition, *bounds, *_where(FACTS, flt))
                .order_by(FACTS.c.detected_at.desc(), FACTS.c.incident_id.desc()).limit(limit))
        picked += [tuple(r) for r in session.execute(stmt)]
    picked = sorted(picked, key=lambda r: (r[2], r[0]), reverse=True)[:limit]
    if not picked:
        return []
    ids = {r[0] for r in picked}
    stmt = (select(FACTS.c.incident_id, Incident.title, Account.name, FACTS.c.severity, FACTS.c.policy_name,
                   FACTS.c.clock, FACTS.c.detected_at, FACTS.c.deadline, FACTS.c.stopped_at, FACTS.c.target_seconds,
                   FACTS.c.actual_seconds)
            .join(Incident, Incident.id == FACTS.c.incident_id).join(Account, Account.id == FACTS.c.account_id)
            .where(FACTS.c.incident_id.in_(ids)))
    rows = {(r[0], r[5]): BreachRow(*r) for r in session.execute(stmt)}
    return [rows[(i, c)] for i, c, _ in picked if (i, c) in rows]


def data_version(session: Session) -> tuple:
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


def clock_fact_of_row(row: dict) -> ClockFact:
    """A stored sla_clock_facts row as a ClockFact (tests and the backtest compare them)."""
    return ClockFact(clock=row["clock"], target_seconds=row["target_seconds"], deadline=row["deadline"],
                     stopped_at=row["stopped_at"], actual_seconds=row["actual_seconds"], state=row["state"],
                     bucket=row["bucket"])


# --------------------------------------------------------------------------
# Policy objectives as target lines.


def range_weeks(flt: DashboardFilter) -> int:
    """How many weeks the filter covers (1 when open-ended)."""
    if flt.week_from is None or flt.week_to is None:
        return 1
    return (flt.week_to - flt.week_from).days // 7 + 1


def objective_results(session: Session, flt: DashboardFilter, *, now: dt.datetime, policies: dict,
                      people: int, hours_per_week: float) -> list:
    """Every measurable objective of the given policies ({name: Policy}), measured on that policy's incidents."""
    from core.policy.notation import format_duration
    from core.sla.clocks import CLOCK_LABELS
    from core.sla.metrics import (
        DURATION_BOUNDS,
        RESPONSE_CLOCKS,
        emergency_share,
        judge,
        measure_of,
        percentile_from_histogram,
    )

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
            if kind == "within_share":
                seconds = int(objective.within.total_seconds())
                label = CLOCK_LABELS[objective.clock].lower()
                if seconds not in DURATION_BOUNDS:
                    basis = f"{format_duration(objective.within)} is not a bound of the duration histogram"
                else:
                    count = within_share(session, narrowed, clock=objective.clock, seconds=seconds, now=now,
                                         target_seconds=None if objective.severities else seconds)
                    actual = count.pct
                    whose = "" if objective.severities else f" with a {format_duration(objective.within)} target"
                    basis = (f"{count.within} of {count.decided} '{label}' clocks{whose} done within "
                             f"{format_duration(objective.within)}")
            elif kind == "median_duration":
                hist = duration_histograms(session, replace(narrowed, clocks=(objective.clock,)), by=()).get((), [])
                actual = percentile_from_histogram(hist, 0.5) if hist else None
                basis = f"median of {sum(hist)} stopped '{CLOCK_LABELS[objective.clock].lower()}' clocks"
            elif kind == "response_attainment":
                counts = sum(attainment(session, replace(narrowed, clocks=RESPONSE_CLOCKS), now=now, by=()).values(),
                             Attainment())
                actual = counts.pct
                basis = f"{counts.met} of {counts.decided} acknowledgements within their target"
            elif kind == "repeat_share":
                incidents, repeats = incident_totals(session, narrowed)
                actual = 100.0 * repeats / incidents if incidents else None
                basis = f"{repeats} of {incidents} incidents repeat one of the same account"
            elif kind == "emergency_share":
                seconds = sum(emergency_by_week(session, narrowed, now=now).values())
                weeks = range_weeks(flt)
                actual = emergency_share(seconds, people, weeks, hours_per_week)
                basis = (f"{seconds / 3600:,.0f} h on P0/P1 against {people} people x {hours_per_week:g} h x "
                         f"{weeks} weeks")
            results.append(judge(name, objective, actual, basis))
    return results
