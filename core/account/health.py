"""Account health: early-warning rules evaluated on health signals, and risk ranking.

Pure rules: given observations (support tickets per day, CSAT, error rate,
uptime, a key business metric against its target), the policy's
``early_warning`` rules and ``now``, say which rules fire for which account,
with a reason in words and the triage answers the warning implies. Each rule
kind measures one number and fires when that number compares to the rule's
threshold as the rule's ``comparison`` says:

- ``increase_pct``: change of the window's total against the window before, in %;
- ``count_in_window``: the total in the window (e.g. tickets in the last 7 days);
- ``rising_for``: hours the latest run of readings, each higher than the one
  before, has lasted;
- ``below_target_pct``: how far the latest reading with a target is under it, in %;
- ``below_value``: the latest reading itself;
- ``dropping``: how much the latest reading fell from the one before (fires on
  any fall unless the rule gives a smallest drop).

This module never imports streamlit, never touches the database and never
reads the clock: `now` is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.policy.measures import COUNT_METRICS, EarlyWarning
from core.policy.notation import duration_notation
from core.policy.schema import Policy

METRIC_LABELS: dict[str, str] = {
    "support_tickets": "Support tickets",
    "csat": "CSAT (0-10)",
    "error_rate": "Error rate (%)",
    "uptime_pct": "Uptime (%)",
    "key_metric": "Key business metric",
}
# How a warning that predicts a severity weighs in the risk score.
SEVERITY_WEIGHT: dict[str, int] = {"P0": 3, "P1": 2, "P2": 1, "P3": 1}
# Signals older than this are not evaluated: a reading from last quarter says nothing about today.
LOOKBACK = dt.timedelta(days=60)
_OPS = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
}
_OP_WORDS = {"lt": "under", "lte": "at most", "gt": "over", "gte": "at least", "eq": "exactly"}


@dataclass(frozen=True)
class Observation:
    """One health reading of an account: a metric's value at a moment (with its target, if any)."""

    account_id: int
    metric: str
    observed_at: dt.datetime
    value: float
    target: float | None = None
    source: str = "form"


@dataclass(frozen=True)
class HealthWarning:
    """An early-warning rule that fired for an account, with why and what it implies for triage."""

    account_id: int
    rule: str
    title: str
    metric: str
    measured: float
    reason: str
    section: str
    predicts: tuple[str, ...]
    answers: dict[str, float] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        """Risk points: 3 when it predicts a P0, 2 for a P1, else 1."""
        return max((SEVERITY_WEIGHT[s] for s in self.predicts), default=1)


@dataclass(frozen=True)
class AccountRisk:
    """An account's warnings and risk score (the sum of their weights)."""

    account_id: int
    score: int
    warnings: tuple[HealthWarning, ...]


def evaluated_rules(policy: Policy) -> list[EarlyWarning]:
    """The policy's early-warning rules that can be evaluated on signals (metric and kind given)."""
    return [rule for rule in policy.early_warning if rule.metric and rule.kind]


def lookback(rules: Iterable[EarlyWarning]) -> dt.timedelta:
    """How far back signals must be read to evaluate `rules` (at least LOOKBACK)."""
    spans = [LOOKBACK]
    for rule in rules:
        if rule.window is not None:
            spans.append(2 * rule.window)
        if rule.duration is not None:
            spans.append(2 * rule.duration)
    return max(spans)


# Kinds that read every reading of the lookback (the latest ones, or a run of them), not a window of it.
SERIES_KINDS = ("rising_for", "below_target_pct", "below_value", "dropping")


def change_offsets(rules: Iterable[EarlyWarning]) -> dict[str, frozenset[dt.timedelta]]:
    """Per metric, how long after a reading's time `evaluate` may answer otherwise because of that reading.

    A reading counts from its own time (offset 0); it leaves a rule's window `window` later and the
    window before that `2 * window` later; a rule that reads every reading of the lookback sees it
    until the lookback has passed. Metrics no rule watches are absent: their readings change nothing.
    """
    rules = list(rules)
    span = lookback(rules)
    found: dict[str, set[dt.timedelta]] = defaultdict(lambda: {dt.timedelta(0)})
    for rule in rules:
        if not (rule.metric and rule.kind):
            continue
        offsets = found[str(rule.metric)]
        if rule.kind == "increase_pct" and rule.window is not None:
            offsets |= {rule.window, 2 * rule.window}
        elif rule.kind == "count_in_window" and rule.window is not None:
            offsets.add(rule.window)
        elif rule.kind in SERIES_KINDS:
            offsets.add(span)
    return {metric: frozenset(offsets) for metric, offsets in found.items()}


def valid_until(moments: Iterable[tuple[str, dt.datetime]], detections: Iterable[dt.datetime],
                rules: Iterable[EarlyWarning], now: dt.datetime) -> dt.datetime | None:
    """The first moment after `now` at which `evaluate` may answer otherwise for one account; None: not before a write.

    `moments` are (metric, time) of every reading evaluated at `now` and of the next reading to come of
    each metric; `detections` the detection times of the account's earliest incident inside the
    lookback and of its next one to come. Until that moment no reading enters or leaves a window or the
    lookback, so the evaluation at `now` holds at every moment in between (windows are half-open,
    `(start, end]`, so the answer changes exactly at a boundary, never just after one). An incident
    is a ticket on its UTC day: it changes its day's count when it is detected, and, for a rule that
    reads every reading, when it leaves the lookback.
    """
    rules = list(rules)
    offsets = change_offsets(rules)
    span = lookback(rules)
    ahead: list[dt.datetime] = []
    for metric, moment in moments:
        ahead += [moment + offset for offset in offsets.get(metric, ()) if moment + offset > now]
    ticket_offsets = offsets.get("support_tickets")
    if ticket_offsets is not None:
        series = any(r.metric == "support_tickets" and r.kind in SERIES_KINDS for r in rules)
        for moment in detections:
            ahead += [m for m in (moment, moment + span if series else moment) if m > now]
    return min(ahead, default=None)


def evaluate(observations: Iterable[Observation], rules: Iterable[EarlyWarning],
             now: dt.datetime) -> list[HealthWarning]:
    """Every warning that fires at `now`, by account then rule order; readings after `now` are ignored."""
    series: dict[tuple[int, str], list[Observation]] = defaultdict(list)
    for obs in observations:
        if obs.observed_at <= now:
            series[(obs.account_id, obs.metric)].append(obs)
    for readings in series.values():
        readings.sort(key=lambda o: o.observed_at)
    rules = [r for r in rules if r.metric and r.kind]
    warnings = []
    for account_id in sorted({key[0] for key in series}):
        for rule in rules:
            found = evaluate_rule(rule, series.get((account_id, str(rule.metric)), []), now)
            if found is not None:
                warnings.append(found)
    return warnings


def evaluate_rule(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> HealthWarning | None:
    """The warning `rule` raises on one account's readings of its metric (oldest first), or None."""
    measure = _MEASURES[str(rule.kind)](rule, readings, now)
    if measure is None:
        return None
    value, detail, answer = measure
    if rule.kind == "dropping" and rule.comparison is None:
        fires, threshold = value > 0, "any fall"
    elif rule.duration is not None:
        hours = rule.duration.total_seconds() / 3600
        fires = _OPS[str(rule.comparison)](value, hours)
        threshold = f"{_OP_WORDS[str(rule.comparison)]} {duration_notation(rule.duration)}"
    else:
        fires = _OPS[str(rule.comparison)](value, float(rule.value))  # type: ignore[arg-type]
        threshold = f"{_OP_WORDS[str(rule.comparison)]} {_number(float(rule.value))}{_unit(rule)}"  # type: ignore[arg-type]
    if not fires:
        return None
    answers = {rule.answer_field: answer} if rule.answer_field and answer is not None else {}
    return HealthWarning(
        account_id=readings[-1].account_id, rule=rule.key, title=rule.title, metric=str(rule.metric),
        measured=value, reason=f"{detail} (rule: {threshold})", section=rule.section,
        predicts=tuple(rule.predicts), answers=answers,
    )


def rank(warnings: Iterable[HealthWarning]) -> list[AccountRisk]:
    """Accounts with warnings, highest risk score first (then most warnings, then account id)."""
    by_account: dict[int, list[HealthWarning]] = defaultdict(list)
    for warning in warnings:
        by_account[warning.account_id].append(warning)
    risks = [AccountRisk(aid, sum(w.weight for w in ws), tuple(ws)) for aid, ws in by_account.items()]
    return sorted(risks, key=lambda r: (-r.score, -len(r.warnings), r.account_id))


def triage_prefill(warning: HealthWarning) -> dict[str, float]:
    """Triage answers a warning implies (e.g. low CSAT -> csat), clamped to what triage accepts."""
    limits = {"csat": 10.0}
    return {name: round(min(max(value, 0.0), limits.get(name, 100.0)), 1) for name, value in warning.answers.items()}


# --------------------------------------------------------------------------
# One measure per kind: (number compared, words explaining it, value for the answer field).

Measure = tuple[float, str, float | None] | None


def _in_window(readings: list[Observation], start: dt.datetime, end: dt.datetime) -> list[Observation]:
    return [o for o in readings if start < o.observed_at <= end]


def _aggregate(metric: str, readings: list[Observation]) -> float:
    values = [o.value for o in readings]
    return sum(values) if metric in COUNT_METRICS else sum(values) / len(values)


def _increase_pct(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    window = rule.window
    assert window is not None  # guaranteed by the policy schema
    current = _in_window(readings, now - window, now)
    previous = _in_window(readings, now - 2 * window, now - window)
    if not current or not previous:
        return None
    before, after = _aggregate(str(rule.metric), previous), _aggregate(str(rule.metric), current)
    if before <= 0:
        return None  # no baseline to compare with; a count rule covers a first burst
    change = (after - before) / before * 100
    label = METRIC_LABELS[str(rule.metric)]
    span = _span(window)
    return change, (f"{label} {_signed(change)}%: {_number(after)} in the last {span} against "
                    f"{_number(before)} in the {span} before"), None


def _count_in_window(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    window = rule.window
    assert window is not None
    current = _in_window(readings, now - window, now)
    if not current:
        return None
    total = sum(o.value for o in current)
    return total, f"{_number(total)} {METRIC_LABELS[str(rule.metric)].lower()} in the last {_span(window)}", None


def _rising_for(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    if len(readings) < 2:
        return None
    start = len(readings) - 1
    while start > 0 and readings[start - 1].value < readings[start].value:
        start -= 1
    if start == len(readings) - 1:
        return None
    first, last = readings[start], readings[-1]
    hours = (last.observed_at - first.observed_at).total_seconds() / 3600
    label = METRIC_LABELS[str(rule.metric)]
    return hours, (f"{label} rose at every reading for {_number(hours)} hours, from {_number(first.value)} "
                   f"to {_number(last.value)}"), last.value


def _below_target_pct(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    with_target = [o for o in readings if o.target is not None and o.target > 0]
    if not with_target:
        return None
    latest = with_target[-1]
    target = float(latest.target)  # type: ignore[arg-type]
    shortfall = (target - latest.value) / target * 100
    return shortfall, (f"{METRIC_LABELS[str(rule.metric)]} at {_number(latest.value)} against a target of "
                       f"{_number(target)}: {_number(shortfall)}% under"), shortfall


def _below_value(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    if not readings:
        return None
    latest = readings[-1]
    return latest.value, f"Latest {METRIC_LABELS[str(rule.metric)]} is {_number(latest.value)}", latest.value


def _dropping(rule: EarlyWarning, readings: list[Observation], now: dt.datetime) -> Measure:
    if len(readings) < 2:
        return None
    previous, latest = readings[-2], readings[-1]
    drop = previous.value - latest.value
    return drop, (f"{METRIC_LABELS[str(rule.metric)]} fell from {_number(previous.value)} to "
                  f"{_number(latest.value)}"), latest.value


_MEASURES = {
    "increase_pct": _increase_pct,
    "count_in_window": _count_in_window,
    "rising_for": _rising_for,
    "below_target_pct": _below_target_pct,
    "below_value": _below_value,
    "dropping": _dropping,
}


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _span(window: dt.timedelta) -> str:
    days = window / dt.timedelta(days=1)
    if days.is_integer():
        return "day" if days == 1 else f"{days:.0f} days"
    return duration_notation(window)


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + _number(value)


def _unit(rule: EarlyWarning) -> str:
    return {"percent": "%", "score": "/10", "count": ""}.get(str(rule.unit), "")
