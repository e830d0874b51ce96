"""SLA and operations metrics: what each number on the dashboard means, as pure functions.

Every figure the dashboard shows is defined here once: how a clock counts
(met, breached, running, paused; a clock still running past its deadline
counts as breached), attainment, time-to-milestone percentiles read from a
fixed duration histogram, repeat incidents, the emergency-work share and how
a policy objective is measured and passed. The summary tables
(core.sla.projection) store the inputs; this module turns them into numbers.
It never reads the clock (callers pass `now`), never touches the database
and never imports streamlit.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.policy.measures import Objective
from core.policy.notation import duration_notation
from core.policy.schema import Policy
from core.sla.clocks import SlaClock
from core.vocabulary import EMERGENCY_SEVERITIES, LEVEL_RESPONSE_CLOCKS, ClockState
from core.zones import zone_or_none

# Clocks that stop once (acknowledge, notify, ...), then each escalation level's
# response clock (response_L1..response_L4: met when the level's response is
# recorded in time). The client-update cadence restarts with every update, so it
# has no single "met or breached" per incident and is left out of attainment.
TRACKED_CLOCKS: tuple[str, ...] = (
    "acknowledge", "client_notification", "mobilization", "resolution", "resolution_max", "escalation",
    *LEVEL_RESPONSE_CLOCKS,
)
# The clocks whose actual durations are the "time to ..." figures.
DURATION_METRICS: dict[str, str] = {
    "acknowledge": "Time to acknowledge",
    "client_notification": "Time to notify the client",
    "mobilization": "Time to mobilise",
    "resolution": "Time to resolve",
}
DEFAULT_REPEAT_WINDOW = dt.timedelta(days=180)
# Planned capacity per person and week when none is given (the 20 % buffer is a share of it).
DEFAULT_HOURS_PER_WEEK = 40.0

_M = 60
_H = 3600
_D = 86400
# Upper bounds (inclusive) of the duration histogram buckets, in seconds. Every
# target and objective threshold in the shipped presets is a bound, so "done
# within X" is an exact count; percentiles interpolate inside one bucket. The
# last bucket (after 90 days) is open-ended.
DURATION_BOUNDS: tuple[int, ...] = (
    1 * _M, 2 * _M, 5 * _M, 10 * _M, 15 * _M, 20 * _M, 30 * _M, 45 * _M, 1 * _H, 90 * _M,
    2 * _H, 3 * _H, 4 * _H, 6 * _H, 8 * _H, 12 * _H, 16 * _H, 24 * _H, 36 * _H, 48 * _H,
    72 * _H, 4 * _D, 5 * _D, 7 * _D, 10 * _D, 14 * _D, 21 * _D, 30 * _D, 60 * _D, 90 * _D,
)
BUCKETS = len(DURATION_BOUNDS) + 1
BUCKET_COLUMNS: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(BUCKETS))


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration: the first bound it does not exceed (last bucket: beyond all)."""
    return bisect.bisect_left(DURATION_BOUNDS, max(0.0, seconds))


def histogram(durations: Iterable[float]) -> list[int]:
    """Counts per bucket for a list of durations in seconds."""
    counts = [0] * BUCKETS
    for seconds in durations:
        counts[bucket_of(seconds)] += 1
    return counts


def percentile_from_histogram(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0..1) of the durations behind `counts`, interpolated inside its bucket; None if empty.

    The value is exact to within its bucket, e.g. a median between 2 h and 3 h
    is reported somewhere in that hour. Durations beyond the last bound report
    the last bound.
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(DURATION_BOUNDS):
                return float(DURATION_BOUNDS[-1])
            low = DURATION_BOUNDS[index - 1] if index else 0
            high = DURATION_BOUNDS[index]
            return low + (high - low) * max(0.0, rank - seen) / count
        seen += count
    return float(DURATION_BOUNDS[-1])


# --------------------------------------------------------------------------
# One clock of one incident, as stored in the summary.


@dataclass(frozen=True)
class ClockFact:
    """One incident's clock as the summary stores it: target, deadline, actual time and state at write time."""

    clock: str
    target_seconds: int
    deadline: dt.datetime
    stopped_at: dt.datetime | None
    actual_seconds: int | None
    state: str
    bucket: int | None

    @property
    def is_open(self) -> bool:
        """True while the clock has not stopped (running or paused)."""
        return self.stopped_at is None


def clock_fact(clock: SlaClock, detected_at: dt.datetime) -> ClockFact:
    """The stored form of a computed clock; the actual time is wall-clock time from detection to the stop."""
    actual = None if clock.stopped_at is None else max(0, int((clock.stopped_at - detected_at).total_seconds()))
    return ClockFact(
        clock=clock.clock, target_seconds=int(clock.target.total_seconds()), deadline=clock.deadline,
        stopped_at=clock.stopped_at, actual_seconds=actual, state=clock.state.value,
        bucket=None if actual is None else bucket_of(actual),
    )


def state_now(stored_state: str, deadline: dt.datetime, stopped: bool, now: dt.datetime) -> str:
    """A stored clock's state at `now`: running past its deadline is breached; stopped and paused keep theirs.

    A paused clock's deadline moves out for as long as the pause lasts, so it
    cannot fall due while paused.
    """
    if stopped or stored_state != ClockState.RUNNING.value:
        return stored_state
    return ClockState.BREACHED.value if now > deadline else ClockState.RUNNING.value


@dataclass(frozen=True)
class Attainment:
    """Clock counts of one group: met, breached (stopped late or still running late), running, paused."""

    met: int = 0
    breached: int = 0
    running: int = 0
    paused: int = 0

    def __add__(self, other: Attainment) -> Attainment:
        return Attainment(self.met + other.met, self.breached + other.breached,
                          self.running + other.running, self.paused + other.paused)

    @property
    def decided(self) -> int:
        """Clocks with an outcome: met plus breached."""
        return self.met + self.breached

    @property
    def pct(self) -> float | None:
        """Attainment %: met / (met + breached); None when nothing is decided yet."""
        return None if self.decided == 0 else 100.0 * self.met / self.decided

    @staticmethod
    def of_states(states: Iterable[str]) -> Attainment:
        """Count a list of states (as returned by `state_now`)."""
        counts: dict[str, int] = {s.value: 0 for s in ClockState}
        for state in states:
            counts[state] += 1
        return Attainment(counts[ClockState.MET], counts[ClockState.BREACHED], counts[ClockState.RUNNING],
                          counts[ClockState.PAUSED])


# --------------------------------------------------------------------------
# Incidents: repeats and emergency work.


def week_start(moment: dt.datetime) -> dt.date:
    """The Monday (UTC) of the week `moment` falls in: the period key of weekly figures."""
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


# --------------------------------------------------------------------------
# The breach heat map in the reader's zone.

# A heat map cell: (weekday, 0 = Monday; hour of the day).
HeatCell = tuple[int, int]
HOUR = dt.timedelta(hours=1)
# The summary counts breaches per UTC quarter hour of detection: every zone in use today is a whole number
# of quarter hours from UTC (+05:30 India, +05:45 Nepal, +08:45 Eucla, -03:30 Newfoundland).
QUARTER = dt.timedelta(minutes=15)


def quarter_of(moment: dt.datetime) -> int:
    """Which quarter of its UTC hour `moment` falls in (0: minutes 0-14 ... 3: minutes 45-59)."""
    return moment.astimezone(dt.UTC).minute // 15


def utc_quarter(week: dt.date, weekday: int, hour: int, quarter: int) -> dt.datetime:
    """The start of the UTC quarter hour a summary row keys by its week (Monday, UTC), weekday, hour and quarter."""
    return dt.datetime.combine(week + dt.timedelta(days=weekday), dt.time(hour, 15 * quarter), dt.UTC)


def local_cell(moment: dt.datetime, time_zone: str) -> HeatCell:
    """The weekday and hour of `moment` on the clocks of `time_zone` (its offset on that day: DST included)."""
    local = moment.astimezone(zone_or_none(time_zone) or dt.UTC)
    return local.weekday(), local.hour


def quarter_cell(start: dt.datetime, time_zone: str) -> HeatCell | None:
    """The local cell every instant of the UTC quarter hour from `start` falls in, or None when it spans two.

    Exact when the zone's offset is a whole number of quarter hours all through that quarter: every zone
    in use today, at +05:30 and +05:45 too, at every quarter (DST moves at a whole UTC quarter in such
    zones). An offset of odd minutes (a historical local mean time), or one that changes inside the
    quarter, splits it between two local hours: None.
    """
    local = zone_or_none(time_zone) or dt.UTC
    first = start.astimezone(local).utcoffset()
    last = (start + QUARTER - dt.timedelta(microseconds=1)).astimezone(local).utcoffset()
    if first is None or first != last or first % QUARTER:
        return None
    return local_cell(start, time_zone)


def heat_in_zone(by_utc_quarter: Iterable[tuple[dt.datetime, int]], time_zone: str) -> dict[HeatCell, int] | None:
    """Counts per UTC quarter hour moved to the cells of `time_zone`; None when a quarter spans two local hours."""
    cells: dict[HeatCell, int] = {}
    for start, count in by_utc_quarter:
        cell = quarter_cell(start, time_zone)
        if cell is None:
            return None
        cells[cell] = cells.get(cell, 0) + count
    return cells


def heat_of_moments(moments: Iterable[tuple[dt.datetime, int]], time_zone: str) -> dict[HeatCell, int]:
    """Counts per detection moment in the cells of `time_zone`, each moment at its own offset (exact for any zone)."""
    cells: dict[HeatCell, int] = {}
    for moment, count in moments:
        cell = local_cell(moment, time_zone)
        cells[cell] = cells.get(cell, 0) + count
    return cells


def is_repeat(previous_detected_at: dt.datetime | None, detected_at: dt.datetime,
              window: dt.timedelta = DEFAULT_REPEAT_WINDOW) -> bool:
    """True when the same account had an incident detected within `window` before this one."""
    return previous_detected_at is not None and detected_at - previous_detected_at <= window


def repeat_flags(detections: Sequence[tuple[int, int, dt.datetime]],
                 window: dt.timedelta = DEFAULT_REPEAT_WINDOW) -> dict[int, bool]:
    """Repeat flag per incident id from (incident id, account id, detected at); ties are ordered by id."""
    flags: dict[int, bool] = {}
    last: dict[int, dt.datetime] = {}
    for incident_id, account_id, detected_at in sorted(detections, key=lambda d: (d[1], d[2], d[0])):
        flags[incident_id] = is_repeat(last.get(account_id), detected_at, window)
        last[account_id] = detected_at
    return flags


def emergency_seconds(severity: str, detected_at: dt.datetime, resolved_at: dt.datetime | None,
                      now: dt.datetime) -> int:
    """Time spent on an emergency: detection to resolution (or to now while open), for P0 and P1 only."""
    if severity not in EMERGENCY_SEVERITIES:
        return 0
    return max(0, int(((resolved_at or now) - detected_at).total_seconds()))


def emergency_share(seconds: float, people: int, weeks: float,
                    hours_per_week: float = DEFAULT_HOURS_PER_WEEK) -> float | None:
    """Emergency time as a % of the team's planned capacity (people x hours per week x weeks)."""
    capacity = people * hours_per_week * weeks * 3600
    return None if capacity <= 0 else 100.0 * seconds / capacity


# --------------------------------------------------------------------------
# Policy objectives as target lines.

# Objectives measured by a figure the summary has, beyond "clock within X":
# the key names the figure. Anything else is listed as not measured here.
KEYED_MEASURES: dict[str, str] = {
    "sla-compliance": "response_attainment",
    "repeat-issues": "repeat_share",
    "repeat-incidents": "repeat_share",
    "emergency-work": "emergency_share",
}
# "Response times" are the first-response clock (acknowledge) and each escalation level's own
# response once the incident reached it (teamflow's "Response Time SLAs": L2 4h, L3 2h, L4 1h).
RESPONSE_CLOCKS: tuple[str, ...] = ("acknowledge", *LEVEL_RESPONSE_CLOCKS)


def measure_of(objective: Objective) -> str | None:
    """How the dashboard measures an objective, or None when it cannot from incident data.

    - a clock with ``within`` and a percent value: the share of that clock's
      stopped clocks (of the objective's severities; without severities, of the
      clocks whose own target equals ``within``) done within that time;
    - a clock with a duration threshold: the median actual time of that clock;
    - the keys in KEYED_MEASURES: response attainment, repeat share, emergency share.
    """
    if objective.key in KEYED_MEASURES:
        return KEYED_MEASURES[objective.key]
    if objective.clock in DURATION_METRICS or objective.clock in TRACKED_CLOCKS:
        if objective.within is not None and objective.unit == "percent":
            return "within_share"
        if objective.duration is not None:
            return "median_duration"
    return None


def passes(comparison: str | None, actual: float, threshold: float) -> bool:
    """True when `actual` compares to `threshold` as the objective says (lt, lte, gt, gte, eq)."""
    return {
        "lt": actual < threshold, "lte": actual <= threshold, "gt": actual > threshold,
        "gte": actual >= threshold, "eq": math.isclose(actual, threshold, abs_tol=1e-9),
    }[comparison or "gte"]


_SIGN = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥", "eq": "="}


def target_text(objective: Objective) -> str:
    """The objective's threshold in words, e.g. '≥ 95 %' or '< 4h'."""
    sign = _SIGN[objective.comparison or "gte"]
    if objective.duration is not None:
        return f"{sign} {duration_notation(objective.duration)}"
    unit = " %" if objective.unit == "percent" else ""
    return f"{sign} {objective.value:g}{unit}"


@dataclass(frozen=True)
class ObjectiveResult:
    """One objective checked against the data: the figure, the threshold, pass or fail."""

    policy: str
    key: str
    title: str
    target: str
    threshold: float
    actual: float | None
    unit: str
    passed: bool | None
    basis: str

    @property
    def verdict(self) -> str:
        """'pass', 'fail' or 'no data'."""
        return "no data" if self.passed is None else ("pass" if self.passed else "fail")


def judge(policy: str, objective: Objective, actual: float | None, basis: str) -> ObjectiveResult:
    """Compare a measured figure with the objective's threshold."""
    if objective.duration is not None:
        threshold, unit = objective.duration.total_seconds(), "seconds"
    else:
        threshold, unit = float(objective.value or 0), objective.unit or "percent"
    passed = None if actual is None else passes(objective.comparison, actual, threshold)
    return ObjectiveResult(policy, objective.key, objective.title, target_text(objective), threshold,
                           actual, unit, passed, basis)


def emergency_limit(policies: Iterable[Policy]) -> float | None:
    """The emergency-work threshold (in %) of the first policy that sets one."""
    for policy in policies:
        for objective in policy.objectives:
            if KEYED_MEASURES.get(objective.key) == "emergency_share" and objective.value is not None:
                return float(objective.value)
    return None
