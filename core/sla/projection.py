"""The SLA summary upkeep: per-clock and per-incident facts and their weekly rollups, kept in the write transaction.

Every incident write calls `sync_incident` (from
`core.incident.flows.refresh_next_deadline`) in the same unit of work: it replaces
the incident's fact rows and applies the difference to the rollups, so
dashboard figures (`core.sla.queries`) are sums over a few thousand rollup rows
instead of scans of every incident. Stopped clocks are summed in `sla_rollup` and
`sla_breach_heat`; open clocks in `sla_open_rollup` and `sla_open_breach_heat` as
their facts record them (running, paused, breached). A running clock that passes its
deadline is recorded as breached by the scheduler pass (`record_breaches`), or at the
latest by its incident's next write; the dashboard adds only those that passed it
since (a partial index holds the running ones by deadline), so its figures do not
depend on when the pass last ran. `backfill` fills the summary for a database that
has incidents but no summary yet; `rebuild_rollups` recomputes the rollups from the
facts in bulk. This module never imports streamlit, never reads the clock, never
touches the incidents table from `record_breaches` and never loads all incidents
into memory outside `backfill`, which works in batches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from core.sla.clocks import SlaClock, compute_clocks
from core.sla.facts import facts_of, policy_of
from core.sla.metrics import (
    BUCKET_COLUMNS,
    BUCKETS,
    DEFAULT_REPEAT_WINDOW,
    TRACKED_CLOCKS,
    clock_fact,
    emergency_seconds,
    quarter_of,
    repeat_flags,
    week_start,
)
from core.vocabulary import EMERGENCY_SEVERITIES, ClockState
from db.models import (
    SLA_BUCKET_COLUMNS,
    Base,
    Incident,
    IncidentFact,
    IncidentRollup,
    SlaBreachHeat,
    SlaClockFact,
    SlaOpenBreachHeat,
    SlaOpenRollup,
    SlaPause,
    SlaRollup,
    SlaRuleRollup,
)

assert BUCKET_COLUMNS == SLA_BUCKET_COLUMNS, "core.sla.metrics and db.models disagree on the duration buckets"



def _table(model: type[Base]) -> Table:
    # Declarative typing says FromClause; a model declared with __tablename__ has a Table.
    table = model.__table__
    assert isinstance(table, Table)
    return table


FACTS = _table(SlaClockFact)
ROLLUP = _table(SlaRollup)
RULE_ROLLUP = _table(SlaRuleRollup)
HEAT = _table(SlaBreachHeat)
OPEN_ROLLUP = _table(SlaOpenRollup)
OPEN_HEAT = _table(SlaOpenBreachHeat)
INCIDENTS = _table(IncidentFact)
INCIDENT_ROLLUP = _table(IncidentRollup)
# Equality, not IS: SQLite only uses an index for `is_open = 1`.
OPEN = FACTS.c.is_open == true()
CLOSED = FACTS.c.is_open == false()
# Open clocks recorded as running: the very terms of ix_sla_clock_facts_running_deadline's WHERE (a literal,
# not a bound parameter: SQLite only matches a partial index on the same constant).
RUNNING = and_(OPEN, FACTS.c.state == literal_column(f"'{ClockState.RUNNING.value}'"))
# The states an open clock is counted under (pending and stopped clocks count nowhere).
OPEN_STATES = (ClockState.RUNNING.value, ClockState.PAUSED.value, ClockState.BREACHED.value)

ROLLUP_KEY = ("week", "clock", "severity", "tier", "csm_id", "policy_name", "target_seconds")
RULE_KEY = ("week", "clock", "severity", "tier", "csm_id", "policy_name", "rules")
HEAT_KEY = ("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour", "quarter")
# The heat key's columns a clock fact holds: the quarter is its detection's (`quarter_of(detected_at)`).
HEAT_FACT_KEY = HEAT_KEY[:-1]
INCIDENT_KEY = ("week", "account_id", "severity", "tier", "csm_id", "policy_name")

# A summary row as column -> value; the key values of a rollup cell; the cells a write
# changes, {key values: {column: increment}} (clock counts are whole, emergency time is not).
Row = dict[str, Any]
Key = tuple[Any, ...]
Cells = dict[Key, dict[str, int]]
IncidentCells = dict[Key, dict[str, float]]


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
    rules: str = ""

    def as_row(self) -> Row:
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
        rules=rule_tags(incident.triage_result),
    )


def rule_tags(triage_result: Mapping[str, Any]) -> str:
    """The rule ids a triage fired, as ",id,id," so that one LIKE finds an incident by rule."""
    ids = [reason.get("rule_id", "") for reason in triage_result.get("reasons", [])]
    return "," + ",".join(sorted({i for i in ids if i})) + "," if ids else ""


def clock_rows(dims: IncidentDims, clocks: Iterable[SlaClock]) -> list[Row]:
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
                 now: dt.datetime) -> Row:
    """The incident_facts row of an incident."""
    emergency = (emergency_seconds(dims.severity, dims.detected_at, resolved_at, now)
                 if resolved_at is not None and dims.severity in EMERGENCY_SEVERITIES else None)
    base = dims.as_row()
    return {key: base[key] for key in ("incident_id", "account_id", "csm_id", "severity", "tier", "policy_name",
                                       "detected_at", "week")} | {
        "resolved_at": resolved_at, "is_repeat": is_repeat, "emergency_seconds": emergency, "updated_at": now,
        "rules": dims.rules}


# --------------------------------------------------------------------------
# Incremental maintenance.


@functools.lru_cache(maxsize=512)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], changed: tuple[str, ...]) -> Executable:
    # Built once per table and set of changed columns, values bound at execution: constructing the
    # statement took most of the time of the five upserts of each incident write.
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(table).values({c: bindparam(c) for c in (*key, *changed)})
    return stmt.on_conflict_do_update(index_elements=list(key),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in changed})


def _upsert(session: Session, table: Table, key: Sequence[str], rows: Mapping[Key, Mapping[str, float]]) -> None:
    """Add the increments in `rows` ({key values: {column: delta}}) to the rollup rows, creating missing ones."""
    dialect = session.get_bind().dialect.name
    # Always the same order: two writers touching the same cells lock them alike (no deadlock).
    for key_values, increments in sorted(rows.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        changed = {c: v for c, v in increments.items() if v}
        if not changed:
            continue
        stmt = _upsert_statement(dialect, table, tuple(key), tuple(sorted(changed)))
        session.execute(stmt, dict(zip(key, key_values, strict=True)) | changed)


@dataclass
class _ClockCells:
    """The rollup cells a write changes: stopped clocks, by rule set, their breach heat, open clocks, theirs."""

    rollup: Cells
    rules: Cells
    heat: Cells
    open_rollup: Cells
    open_heat: Cells

    @staticmethod
    def empty() -> _ClockCells:
        """No change yet."""
        return _ClockCells({}, {}, {}, {}, {})

    def apply(self, session: Session) -> None:
        """Add the changes to the rollup tables."""
        # Always in this order, after the fact rows: writers lock alike.
        _upsert(session, ROLLUP, ROLLUP_KEY, self.rollup)
        _upsert(session, RULE_ROLLUP, RULE_KEY, self.rules)
        _upsert(session, HEAT, HEAT_KEY, self.heat)
        _upsert(session, OPEN_ROLLUP, ROLLUP_KEY, self.open_rollup)
        _upsert(session, OPEN_HEAT, HEAT_KEY, self.open_heat)


def _heat_key(row: Mapping[str, Any]) -> Key:
    return (*(row[k] for k in HEAT_FACT_KEY), quarter_of(row["detected_at"]))


def quarter_column(column: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    """The SQL of `quarter_of` for a detection time column: the quarter of its UTC hour, 0-3."""
    minute: ColumnElement[Any]
    if dialect == "postgresql":
        minute = func.extract("minute", func.timezone("UTC", column))
    else:  # SQLite keeps UTC times as text, "YYYY-MM-DD HH:MM:SS..."
        minute = func.strftime("%M", column)
    return cast(cast(minute, Integer) // 15, Integer)


def _clock_contribution(row: Mapping[str, Any], sign: int, cells: _ClockCells, rules: str = "") -> None:
    """Add (sign +1) or take away (-1) one clock fact's counts; `rules` is its incident's rule set (",id,")."""
    key = tuple(row[k] for k in ROLLUP_KEY)
    if row["is_open"]:
        if row["state"] in OPEN_STATES:
            cells.open_rollup.setdefault(key, defaultdict(int))[row["state"]] += sign
        if row["state"] == ClockState.BREACHED:
            cells.open_heat.setdefault(_heat_key(row), defaultdict(int))["breached"] += sign
        return
    rollup, heat = cells.rollup, cells.heat
    cell = rollup.setdefault(key, defaultdict(int))
    cell[row["state"]] += sign
    cell[BUCKET_COLUMNS[row["bucket"]]] += sign
    if rules:
        by_rules = cells.rules.setdefault(tuple({**row, "rules": rules}[k] for k in RULE_KEY), defaultdict(int))
        by_rules[row["state"]] += sign
        by_rules[BUCKET_COLUMNS[row["bucket"]]] += sign
    if row["state"] == ClockState.BREACHED:
        heat_cell = heat.setdefault(_heat_key(row), defaultdict(int))
        heat_cell["breached"] += sign


def _incident_contribution(row: Mapping[str, Any], sign: int, rollup: IncidentCells) -> None:
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
    previous: dt.datetime | None = session.scalar(stmt)
    return previous


def _mark_followers(session: Session, dims: IncidentDims, window: dt.timedelta, rollup: IncidentCells) -> None:
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


# Built once: constructing a RETURNING of every column took longer than running it, on every incident write.
_TAKE_FACTS = delete(FACTS).where(FACTS.c.incident_id == bindparam("incident_id")).returning(*FACTS.c)
_INCIDENT_FACT = select(INCIDENTS).where(INCIDENTS.c.incident_id == bindparam("incident_id"))


def sync_incident(session: Session, incident: Incident, clocks: Sequence[SlaClock], now: dt.datetime,
                  *, window: dt.timedelta = DEFAULT_REPEAT_WINDOW) -> None:
    """Make the incident's summary rows match its clocks at `now`, applying the difference to the rollups.

    A drill (`Incident.is_drill`) has no summary rows: no dashboard figure, objective or repeat count
    ever includes an exercise.
    """
    dims = dims_of(incident)
    drill = incident.is_drill
    new_clocks = [] if drill else clock_rows(dims, clocks)
    # Deleted and read in one statement: the rows taken out are the ones subtracted, even when a scheduler
    # pass recorded one of them as breached a moment ago (PostgreSQL waits for its row lock, then returns
    # the row as that pass left it).
    old_clocks = [dict(r) for r in session.execute(_TAKE_FACTS, {"incident_id": dims.incident_id}).mappings()]
    old_incident = session.execute(_INCIDENT_FACT, {"incident_id": dims.incident_id}).mappings().first()
    cells = _ClockCells.empty()
    incident_rollup: IncidentCells = {}
    # The rules the stored clocks were counted under: a new triage may have changed them.
    old_rules = old_incident["rules"] if old_incident is not None else ""
    for row in old_clocks:
        _clock_contribution(row, -1, cells, old_rules)
    for row in new_clocks:
        _clock_contribution(row, +1, cells, dims.rules)
    if old_incident is None:
        repeat = False if drill else _previous_detection(session, dims, window) is not None
        if not drill:
            _mark_followers(session, dims, window, incident_rollup)
    else:
        repeat = bool(old_incident["is_repeat"])
        _incident_contribution(dict(old_incident), -1, incident_rollup)
    new_incident = incident_row(dims, resolved_at=incident.resolved_at, is_repeat=repeat, now=now)
    if not drill:
        _incident_contribution(new_incident, +1, incident_rollup)

    if new_clocks:
        session.execute(insert(FACTS), new_clocks)
    if drill:
        session.execute(delete(INCIDENTS).where(INCIDENTS.c.incident_id == dims.incident_id))
    elif old_incident is None:
        session.execute(insert(INCIDENTS), [new_incident])
    else:
        session.execute(update(INCIDENTS).where(INCIDENTS.c.incident_id == dims.incident_id).values(**{
            k: v for k, v in new_incident.items() if k != "incident_id"}))
    cells.apply(session)
    _upsert(session, INCIDENT_ROLLUP, INCIDENT_KEY, incident_rollup)


def record_breaches(session: Session, now: dt.datetime) -> int:
    """Record every open clock still running past its deadline at `now` as breached; returns how many.

    Moves the fact's state and its count in the open rollup and heat, in the caller's transaction,
    and touches nothing else (no incident, no version). Idempotent. Two processes at once record
    each clock once: on PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED` (a row another
    pass or an incident write holds is left to it) and the UPDATE re-checks the state on the row it
    changes; SQLite serialises writers.
    """
    due = and_(RUNNING, FACTS.c.deadline < now)
    picked = select(FACTS.c.incident_id, FACTS.c.clock).where(due).with_for_update(skip_locked=True)
    moved = session.execute(
        update(FACTS).where(tuple_(FACTS.c.incident_id, FACTS.c.clock).in_(picked), due)
        .values(state=ClockState.BREACHED.value)
        .returning(*(FACTS.c[k] for k in dict.fromkeys((*ROLLUP_KEY, *HEAT_FACT_KEY, "detected_at")))),
    ).mappings().all()
    cells = _ClockCells.empty()
    for row in moved:
        was = {**row, "is_open": True, "state": ClockState.RUNNING.value}
        _clock_contribution(was, -1, cells)
        _clock_contribution(was | {"state": ClockState.BREACHED.value}, +1, cells)
    cells.apply(session)
    return len(moved)


# --------------------------------------------------------------------------
# Bulk: backfill an existing database, rebuild the rollups.


def rebuild_rollups(session: Session) -> None:
    """Recompute the rollup tables (stopped and open clocks, incidents) from the fact tables in bulk (SQL GROUP BY)."""
    for table in (ROLLUP, RULE_ROLLUP, HEAT, OPEN_ROLLUP, OPEN_HEAT, INCIDENT_ROLLUP):
        session.execute(delete(table))
    closed = CLOSED
    keys = [FACTS.c[k] for k in ROLLUP_KEY]
    counts = [func.sum(case((FACTS.c.state == ClockState.MET.value, 1), else_=0)),
              func.sum(case((FACTS.c.state == ClockState.BREACHED.value, 1), else_=0))]
    buckets = [func.sum(case((FACTS.c.bucket == i, 1), else_=0)) for i in range(BUCKETS)]
    session.execute(insert(ROLLUP).from_select(
        [*ROLLUP_KEY, "met", "breached", *BUCKET_COLUMNS],
        select(*keys, *counts, *buckets).where(closed).group_by(*keys)))
    rule_keys = [*(FACTS.c[k] for k in RULE_KEY if k != "rules"), INCIDENTS.c.rules]
    session.execute(insert(RULE_ROLLUP).from_select(
        [*RULE_KEY, "met", "breached", *BUCKET_COLUMNS],
        select(*rule_keys, *counts, *buckets)
        .join_from(FACTS, INCIDENTS, INCIDENTS.c.incident_id == FACTS.c.incident_id)
        .where(closed, INCIDENTS.c.rules != "").group_by(*rule_keys)))
    heat_keys = [*(FACTS.c[k] for k in HEAT_FACT_KEY),
                 quarter_column(FACTS.c.detected_at, session.get_bind().dialect.name).label("quarter")]
    session.execute(insert(HEAT).from_select(
        [*HEAT_KEY, "breached"],
        select(*heat_keys, func.count())
        .where(closed, FACTS.c.state == ClockState.BREACHED.value).group_by(*heat_keys)))
    open_counts = [func.sum(case((FACTS.c.state == state, 1), else_=0)) for state in OPEN_STATES]
    session.execute(insert(OPEN_ROLLUP).from_select(
        [*ROLLUP_KEY, *OPEN_STATES],
        select(*keys, *open_counts).where(OPEN, FACTS.c.state.in_(OPEN_STATES)).group_by(*keys)))
    session.execute(insert(OPEN_HEAT).from_select(
        [*HEAT_KEY, "breached"],
        select(*heat_keys, func.count())
        .where(OPEN, FACTS.c.state == ClockState.BREACHED.value).group_by(*heat_keys)))
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
    without = select(Incident.id).where(Incident.is_drill.is_(False),
                                        ~Incident.id.in_(select(INCIDENTS.c.incident_id))).limit(1)
    return session.scalar(without) is not None


def backfill(session: Session, *, now: dt.datetime, batch: int = 1000) -> int:
    """Compute summary rows for every incident that has none (drills never have any), then rebuild the rollups;
    returns how many."""
    done = 0
    last_id = 0
    while True:
        ids = list(session.scalars(
            select(Incident.id).where(Incident.id > last_id, Incident.is_drill.is_(False),
                                      ~Incident.id.in_(select(INCIDENTS.c.incident_id)))
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
