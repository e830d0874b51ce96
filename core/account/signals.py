"""Account health signals: validate and store readings, read them back, derive them from incidents.

A reading is entered on the account page, imported from CSV, or derived from
incidents: every incident counts as one support ticket on the UTC day it was
detected, and a CSAT or uptime given in its triage answers is a reading at its
detection time. The derived readings live in two read models of incidents
(`account_incident_days`, `incident_answer_readings`) that `count_opened_incident`
keeps current in the opening transaction, so a page reads one row per account
and day instead of every incident of its window. Entered or imported readings win over derived
ones for the same account, metric and UTC day, so a team that types in its
ticket system's daily counts is not counted twice. Each account's early warnings
are stored too (`account_health`, with the moment they stop holding: see the
section "Health of a set of accounts" below), kept by the same writes and by the
scheduler pass. This module never imports streamlit and never reads the clock
(callers pass `now`); its readers never write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Date, Engine, Float, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit
from core.account import health
from core.account.health import AccountRisk, HealthWarning, Observation
from core.account.service import Editor, check_may_edit, describe_errors
from core.policy import store as policy_store
from core.policy.loading import PolicyError, load_preset, preset_names
from core.policy.measures import SIGNAL_METRICS, EarlyWarning
from core.policy.schema import Policy
from db.engine import session_scope
from db.models import (
    Account,
    AccountHealth,
    AccountIncidentDay,
    HealthSignal,
    Incident,
    IncidentAnswerReading,
)

# metric -> (lowest, highest) accepted value; None means no upper bound.
VALUE_RANGES: dict[str, tuple[float, float | None]] = {
    "support_tickets": (0, None),
    "csat": (0, 10),
    "error_rate": (0, 100),
    "uptime_pct": (0, 100),
    "key_metric": (float("-inf"), None),
}
# Incident answers that are health readings in their own right.
_ANSWER_METRICS = {"csat": "csat", "uptime_pct": "uptime_pct"}


class SignalError(ValueError):
    """A reading that cannot be stored; the message says what to fix."""


class SignalInput(BaseModel):
    """One reading as a person or a CSV row gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    metric: str
    observed_at: dt.datetime
    value: float = Field(allow_inf_nan=False)
    target: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in SIGNAL_METRICS:
            raise ValueError(f"unknown metric {value!r}; use one of {', '.join(SIGNAL_METRICS)}")
        return value

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("give the time with its zone, e.g. 2026-03-01T09:00:00Z")
        return value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _in_range(self) -> SignalInput:
        low, high = VALUE_RANGES[self.metric]
        if self.value < low or (high is not None and self.value > high):
            limits = f"between {low:g} and {high:g}" if high is not None else f"{low:g} or more"
            raise ValueError(f"value {self.value:g} is out of range for {self.metric}: give a number {limits}")
        if self.metric == "support_tickets" and not float(self.value).is_integer():
            raise ValueError("support_tickets counts tickets: give a whole number")
        if self.target is not None and self.metric != "key_metric":
            raise ValueError(f"only key_metric has a target; leave target empty for {self.metric}")
        if self.target is not None and self.target <= 0:
            raise ValueError("target must be above 0 so the shortfall can be computed")
        return self


def parse_reading(data: dict[str, Any]) -> SignalInput:
    """Validate a reading; SignalError with a clear message when it is wrong."""
    try:
        return SignalInput.model_validate(data)
    except ValidationError as exc:
        raise SignalError(describe_errors(exc, "reading").replace("\n", "; ")) from None


def record(session: Session, *, account_id: int, reading: SignalInput, source: str, editor: Editor,
           now: dt.datetime) -> HealthSignal:
    """Store one reading in the caller's unit of work; a second reading with the same key is refused.

    Those who may edit the account record its readings: AccountForbidden for anyone else.
    """
    account = session.get(Account, account_id)
    if account is None:
        raise SignalError(f"Account {account_id} does not exist.")
    check_may_edit(editor, account, "record a reading for")
    if reading.observed_at > now:
        raise SignalError("The reading is in the future: give a time up to now.")
    duplicate = session.scalar(select(HealthSignal.id).where(
        HealthSignal.account_id == account_id, HealthSignal.metric == reading.metric,
        HealthSignal.observed_at == reading.observed_at, HealthSignal.source == source))
    if duplicate is not None:
        raise SignalError(f"{account.name} already has a {reading.metric} reading at "
                          f"{reading.observed_at:%Y-%m-%d %H:%M} UTC.")
    row = HealthSignal(account_id=account_id, metric=reading.metric, observed_at=reading.observed_at,
                       value=reading.value, target=reading.target, source=source, recorded_at=now,
                       recorded_by_id=editor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=editor.id, actor_name=editor.name, entity_type="account", entity_id=account_id,
                 action="signal_recorded", changes={reading.metric: [None, reading.value]}, at=now)
    refresh_accounts(session, [account_id], now)
    return row


def stored(session: Session, account_ids: Iterable[int] | None, since: dt.datetime,
           until: dt.datetime) -> list[Observation]:
    """Entered and imported readings in (since, until], oldest first."""
    stmt = select(HealthSignal.account_id, HealthSignal.metric, HealthSignal.observed_at, HealthSignal.value,
                  HealthSignal.target, HealthSignal.source).where(
        HealthSignal.observed_at > since, HealthSignal.observed_at <= until)
    if account_ids is None:
        return [Observation(*row) for row in session.execute(stmt.order_by(HealthSignal.observed_at))]
    # Every metric named and sorted here, not by the database: so the planner seeks (account, metric, time)
    # instead of walking the time index over every account's readings of the window (72k rows at 400
    # accounts) to draw the ten sparklines of one page.
    stmt = stmt.where(HealthSignal.account_id.in_(list(account_ids)), HealthSignal.metric.in_(SIGNAL_METRICS))
    return sorted((Observation(*row) for row in session.execute(stmt)), key=lambda o: o.observed_at)


def count_opened_incident(session: Session, incident: Incident, now: dt.datetime) -> None:
    """Add a just-opened incident to the derived signals and mark its account's stored evaluation as no longer
    holding from `now`, in the caller's transaction (drills count for nothing).

    Opening is the emergency path, so it does not evaluate the account (about 10 ms of its 25): readers
    evaluate a stale account live, exactly as a full evaluation would, until the next scheduler pass
    stores it again (`refresh_due`)."""
    # A drill's answers are made up for the exercise: they say nothing about the account's health.
    if incident.is_drill:
        return
    day = incident.detected_at.astimezone(dt.UTC).date()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # An upsert: two incidents of one account opened at once both count, neither insert fails.
    upsert = dialect.insert(AccountIncidentDay).values(account_id=incident.account_id, day=day, tickets=1)
    session.execute(upsert.on_conflict_do_update(
        index_elements=[AccountIncidentDay.account_id, AccountIncidentDay.day],
        set_={"tickets": AccountIncidentDay.tickets + 1}))
    for answer, metric in _ANSWER_METRICS.items():
        value = (incident.answers or {}).get(answer)
        if value is not None:
            session.add(IncidentAnswerReading(incident_id=incident.id, metric=metric, account_id=incident.account_id,
                                              observed_at=incident.detected_at, value=float(value)))
    mark_stale(session, [incident.account_id], now)


def rebuild_signal_days(session: Session) -> None:
    """Recompute the derived signals from every incident (after bulk inserts that bypass the open flow)."""
    session.execute(delete(AccountIncidentDay))
    session.execute(delete(IncidentAnswerReading))
    postgres = session.get_bind().dialect.name == "postgresql"
    day = (func.timezone("UTC", Incident.detected_at).cast(Date) if postgres else func.date(Incident.detected_at))
    not_drill = Incident.is_drill.is_(False)
    session.execute(insert(AccountIncidentDay).from_select(
        ["account_id", "day", "tickets"],
        select(Incident.account_id, day, func.count()).where(not_drill).group_by(Incident.account_id, day)))
    for answer, metric in _ANSWER_METRICS.items():
        value = (Incident.answers.op("->>")(answer) if postgres
                 else func.json_extract(Incident.answers, f"$.{answer}")).cast(Float)
        session.execute(insert(IncidentAnswerReading).from_select(
            ["incident_id", "metric", "account_id", "observed_at", "value"],
            select(Incident.id, literal(metric), Incident.account_id, Incident.detected_at, value)
            .where(not_drill, value.is_not(None))))


def _tickets_on(session: Session, ids: list[int] | None, day: dt.date, since: dt.datetime,
               until: dt.datetime) -> dict[tuple[int, dt.date], int]:
    # Incidents detected in (since, until] on one UTC day, per account, counted on the incidents themselves:
    # only for a window's partial first and last day, a day of rows on the detection-time index.
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
    stmt = (select(Incident.account_id, func.count()).where(
        Incident.detected_at > since, Incident.detected_at <= until, Incident.detected_at >= midnight,
        Incident.detected_at < midnight + dt.timedelta(days=1), Incident.is_drill.is_(False))
        .group_by(Incident.account_id))
    if ids is not None:
        stmt = stmt.where(Incident.account_id.in_(ids))
    return {(account_id, day): count for account_id, count in session.execute(stmt)}


def derived_from_incidents(session: Session, account_ids: Iterable[int] | None, since: dt.datetime,
                           until: dt.datetime) -> list[Observation]:
    """Readings implied by incidents detected in (since, until]: tickets per UTC day, CSAT and uptime answers."""
    ids = None if account_ids is None else list(account_ids)
    first, last = since.astimezone(dt.UTC), until.astimezone(dt.UTC)
    answers = select(IncidentAnswerReading.account_id, IncidentAnswerReading.metric, IncidentAnswerReading.observed_at,
                     IncidentAnswerReading.value).where(
        IncidentAnswerReading.observed_at > since, IncidentAnswerReading.observed_at <= until)
    # Whole days inside the window come from the read model; its two edge days are cut at the window's bounds.
    days = select(AccountIncidentDay.account_id, AccountIncidentDay.day, AccountIncidentDay.tickets).where(
        AccountIncidentDay.day > first.date(), AccountIncidentDay.day < last.date())
    if ids is not None:
        answers = answers.where(IncidentAnswerReading.account_id.in_(ids))
        days = days.where(AccountIncidentDay.account_id.in_(ids))
    readings = [Observation(account_id, metric, observed_at, value, None, "incident")
                for account_id, metric, observed_at, value in session.execute(
                    answers.order_by(IncidentAnswerReading.observed_at, IncidentAnswerReading.incident_id))]
    tickets = {(account_id, day): count for account_id, day, count in session.execute(days) if count}
    if first < last:
        for day in {first.date(), last.date()}:
            tickets |= _tickets_on(session, ids, day, first, last)
    readings += [Observation(account_id, "support_tickets", dt.datetime.combine(day, dt.time(), dt.UTC), count,
                             None, "incident") for (account_id, day), count in sorted(tickets.items())]
    return readings


def observations(session: Session, account_ids: Iterable[int] | None, since: dt.datetime,
                 until: dt.datetime) -> list[Observation]:
    """Stored and derived readings in (since, until], stored ones winning per account, metric and UTC day."""
    ids = None if account_ids is None else list(account_ids)
    kept = stored(session, ids, since, until)
    days = {(o.account_id, o.metric, o.observed_at.date()) for o in kept}
    kept += [o for o in derived_from_incidents(session, ids, since, until)
             if (o.account_id, o.metric, o.observed_at.date()) not in days]
    return sorted(kept, key=lambda o: (o.account_id, o.metric, o.observed_at))


# --------------------------------------------------------------------------
# Health of a set of accounts under the team's default policy.
#
# What an evaluation depends on: the account's readings of the lookback (stored, and derived from its
# incidents), the default policy's early-warning rules, and `now` to the exact moment (a window is
# `(now - window, now]`, and readings have times of day). So each account's evaluation is stored with
# the moment it was made for and the first moment it may change (`health.valid_until`: a reading
# entering or leaving a window or the lookback), under a fingerprint of the rules. A reading entered or
# imported re-evaluates its account in its transaction; opening an incident only marks the account's row
# as no longer holding (`mark_stale`, one UPDATE on the emergency path); the scheduler pass
# re-evaluates the accounts whose moment has come; a reader uses the stored rows that hold at its
# `now` and evaluates the others live, so the answer is the same as a full evaluation, always.

# Part of the rules' fingerprint: raise it when core.account.health computes something new, so that
# every stored evaluation made by the old code stops holding.
EVALUATION_REVISION = 1
_NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class HealthReport:
    """Fired warnings and the ranking for some accounts under one policy's rules, and the readings of a few.

    `observations` holds the readings of the accounts asked for (the one on the account page, the
    page of at-risk accounts the health page draws), not of every account ranked.
    """

    policy_name: str
    rules: tuple[EarlyWarning, ...]
    observations: tuple[Observation, ...]
    warnings: tuple[HealthWarning, ...]
    ranked: tuple[AccountRisk, ...]
    now: dt.datetime = _NEVER

    def series(self, account_id: int, metric: str) -> list[Observation]:
        """One account's readings of one metric, oldest first."""
        return list(self._series.get((account_id, metric), ()))

    def warnings_for(self, account_id: int) -> list[HealthWarning]:
        """The warnings that fired for one account."""
        return list(self._warnings.get(account_id, ()))

    def since(self) -> dt.datetime:
        """Where the readings this report evaluated begin (its lookback before `now`)."""
        return self.now - health.lookback(self.rules)

    # Grouped once per report: the health page draws a sparkline per account and metric, and
    # filtering every reading for each of them made the page grow with accounts times readings.
    @cached_property
    def _series(self) -> dict[tuple[int, str], list[Observation]]:
        grouped: dict[tuple[int, str], list[Observation]] = defaultdict(list)
        for o in self.observations:
            grouped[(o.account_id, o.metric)].append(o)
        return grouped

    @cached_property
    def _warnings(self) -> dict[int, list[HealthWarning]]:
        grouped: dict[int, list[HealthWarning]] = defaultdict(list)
        for w in self.warnings:
            grouped[w.account_id].append(w)
        return grouped


def rules_fingerprint(rules: Iterable[EarlyWarning]) -> str:
    """A hash of the rules as evaluated (and of the evaluation code's revision): equal rules, equal hash."""
    body = {"revision": EVALUATION_REVISION, "lookback_s": health.LOOKBACK.total_seconds(),
            "rules": [rule.model_dump(mode="json") for rule in rules]}
    return policy_store.snapshot_hash(body)


def default_rules(session: Session) -> tuple[str, list[EarlyWarning]]:
    """The team default policy's name and its early-warning rules that can be evaluated."""
    name = policy_store.default_name(session)
    return name, health.evaluated_rules(_default_policy(session, name))


def health_report(session: Session, account_ids: Iterable[int], now: dt.datetime, *,
                  readings_of: Iterable[int] = ()) -> HealthReport:
    """The team default policy's early warnings for the accounts at `now`, with the readings of `readings_of`.

    Stored evaluations that hold at `now` are read as they are; the accounts without one are
    evaluated live (never written: reading a page writes nothing).
    """
    name, rules = default_rules(session)
    ids = list(dict.fromkeys(account_ids))
    warnings = _stored_or_live(session, ids, rules, now)
    shown = list(dict.fromkeys(readings_of))
    readings = observations(session, shown, now - health.lookback(rules), now) if shown else []
    return HealthReport(name, tuple(rules), tuple(readings), tuple(warnings), tuple(health.rank(warnings)), now)


def with_readings(session: Session, report: HealthReport, account_ids: Iterable[int]) -> HealthReport:
    """`report` with the readings of `account_ids` over the period it evaluated (the sparklines of one page)."""
    ids = list(dict.fromkeys(account_ids))
    readings = observations(session, ids, report.since(), report.now) if ids else []
    return replace(report, observations=tuple(readings))


def warning_for(session: Session, account_id: int, rule_key: str, now: dt.datetime) -> HealthWarning | None:
    """The warning `rule_key` raises for one account right now, or None when it does not fire."""
    report = health_report(session, [account_id], now)
    return next((w for w in report.warnings if w.rule == rule_key), None)


def _default_policy(session: Session, name: str) -> Policy:
    # Before any policy is saved (a fresh database), the bundled preset of that name stands in.
    try:
        return policy_store.load(session, name)[0]
    except PolicyError:
        return load_preset(name if name in preset_names() else "default")


def _holds(rules_hash: str, evaluated_at: dt.datetime, valid_until: dt.datetime | None, fingerprint: str,
           now: dt.datetime) -> bool:
    return rules_hash == fingerprint and evaluated_at <= now and (valid_until is None or now < valid_until)


def _stored_or_live(session: Session, ids: list[int], rules: list[EarlyWarning],
                    now: dt.datetime) -> list[HealthWarning]:
    if not ids:
        return []
    fingerprint = rules_fingerprint(rules)
    stored_rows = session.execute(select(AccountHealth.account_id, AccountHealth.rules_hash,
                                         AccountHealth.evaluated_at, AccountHealth.valid_until,
                                         AccountHealth.warnings).where(AccountHealth.account_id.in_(ids)))
    warnings: list[HealthWarning] = []
    fresh = set()
    for account_id, rules_hash, evaluated_at, until, items in stored_rows:
        if _holds(rules_hash, evaluated_at, until, fingerprint, now):
            fresh.add(account_id)
            warnings += [_warning(account_id, item) for item in items]
    stale = [i for i in ids if i not in fresh]
    if stale:
        readings = observations(session, stale, now - health.lookback(rules), now)
        warnings += health.evaluate(readings, rules, now)
    return sorted(warnings, key=lambda w: w.account_id)  # by account, each in rule order, as evaluate gives them


def _warning(account_id: int, item: dict[str, Any]) -> HealthWarning:
    return HealthWarning(account_id=account_id, rule=item["rule"], title=item["title"], metric=item["metric"],
                         measured=item["measured"], reason=item["reason"], section=item["section"],
                         predicts=tuple(item["predicts"]), answers=dict(item["answers"]))


def _stored_form(warning: HealthWarning) -> dict[str, Any]:
    return {"rule": warning.rule, "title": warning.title, "metric": warning.metric, "measured": warning.measured,
            "reason": warning.reason, "section": warning.section, "predicts": list(warning.predicts),
            "answers": warning.answers}


# --------------------------------------------------------------------------
# Keeping the stored evaluations (writes, the scheduler pass, bulk rebuilds).


@dataclass(frozen=True)
class Evaluation:
    """One account's warnings at a moment and the first moment after it at which they may change."""

    account_id: int
    warnings: tuple[HealthWarning, ...]
    valid_until: dt.datetime | None


def evaluate_accounts(session: Session, account_ids: Iterable[int] | None, rules: list[EarlyWarning],
                      now: dt.datetime) -> dict[int, Evaluation]:
    """Evaluate `rules` at `now` on the accounts (every account when None), with how long each answer holds."""
    ids = None if account_ids is None else list(account_ids)
    span = health.lookback(rules)
    readings = observations(session, ids, now - span, now)
    moments: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for o in readings:
        moments[o.account_id].append((o.metric, o.observed_at))
    for account_id, metric, moment in _next_readings(session, ids, now):
        moments[account_id].append((metric, moment))
    detections = _detections(session, ids, now, span, rules)
    fired: dict[int, list[HealthWarning]] = defaultdict(list)
    for warning in health.evaluate(readings, rules, now):
        fired[warning.account_id].append(warning)
    targets = ids if ids is not None else list(session.scalars(select(Account.id)))
    return {account_id: Evaluation(account_id, tuple(fired.get(account_id, ())),
                                   health.valid_until(moments.get(account_id, ()), detections.get(account_id, ()),
                                                      rules, now))
            for account_id in targets}


def _next_readings(session: Session, ids: list[int] | None, now: dt.datetime) -> list[tuple[int, str, dt.datetime]]:
    # The first reading to come of each account and metric (stored, or given by an incident detected later).
    found = []
    for table in (HealthSignal, IncidentAnswerReading):
        stmt = (select(table.account_id, table.metric, func.min(table.observed_at))
                .where(table.observed_at > now).group_by(table.account_id, table.metric))
        if ids is not None:  # each metric named: a seek per account and metric, not a walk of its readings
            stmt = stmt.where(table.account_id.in_(ids), table.metric.in_(SIGNAL_METRICS))
        found += [(a, m, t) for a, m, t in session.execute(stmt)]
    return found


def _detections(session: Session, ids: list[int] | None, now: dt.datetime, span: dt.timedelta,
                rules: list[EarlyWarning]) -> dict[int, list[dt.datetime]]:
    # When tickets change: the next incident to be detected, and, for a rule that reads every ticket
    # reading of the lookback, the earliest incident still inside it (it leaves the lookback first).
    found: dict[int, list[dt.datetime]] = defaultdict(list)
    if not any(rule.metric == "support_tickets" for rule in rules):
        return found
    windows = [Incident.detected_at > now]
    if any(rule.metric == "support_tickets" and rule.kind in health.SERIES_KINDS for rule in rules):
        windows.append(Incident.detected_at > now - span)
    for window in windows:
        stmt = (select(Incident.account_id, func.min(Incident.detected_at))
                .where(window, Incident.is_drill.is_(False)).group_by(Incident.account_id))
        if ids is not None:
            stmt = stmt.where(Incident.account_id.in_(ids))
        for account_id, moment in session.execute(stmt):
            found[account_id].append(moment)
    return found


def _lock(session: Session, ids: list[int], now: dt.datetime, *, skip_locked: bool = False) -> list[int]:
    """Make sure each account has its row and lock them (PostgreSQL), in id order; returns the ids locked.

    Re-evaluating under the row lock, after it is taken, is what keeps two writers of one account (or a
    writer and the scheduler) from storing an evaluation that misses the other's reading: the later
    one reads the readings once the earlier one has committed. SQLite serialises writers already.
    """
    if not ids:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    placeholder = dialect.insert(AccountHealth).values(
        [{"account_id": i, "rules_hash": "", "evaluated_at": now, "valid_until": now, "score": 0, "warnings": []}
         for i in ids])
    session.execute(placeholder.on_conflict_do_nothing(index_elements=[AccountHealth.account_id]))
    stmt = (select(AccountHealth.account_id).where(AccountHealth.account_id.in_(ids))
            .order_by(AccountHealth.account_id).with_for_update(skip_locked=skip_locked))
    return list(session.scalars(stmt))


def _store(session: Session, evaluations: Iterable[Evaluation], fingerprint: str, now: dt.datetime) -> None:
    for found in evaluations:
        session.execute(update(AccountHealth).where(AccountHealth.account_id == found.account_id).values(
            rules_hash=fingerprint, evaluated_at=now, valid_until=found.valid_until,
            score=sum(w.weight for w in found.warnings), warnings=[_stored_form(w) for w in found.warnings]))


def mark_stale(session: Session, account_ids: Iterable[int], now: dt.datetime) -> None:
    """Make the accounts' stored evaluations stop holding at `now` (a write changed their readings).

    One UPDATE in the caller's transaction: from then on readers evaluate these accounts live and the
    next scheduler pass re-evaluates and stores them. On PostgreSQL it waits for a pass evaluating the
    same account to commit, then marks the row that pass stored, so no reading is ever missed. An account
    without a row is stale already.
    """
    ids = sorted(set(account_ids))
    if ids:
        # The earlier of the two moments, decided in SET rather than WHERE: on PostgreSQL a WHERE on
        # valid_until is checked against the row as this transaction saw it first, so a row that was
        # stale then and that a pass is storing anew would be skipped, and keep holding.
        session.execute(update(AccountHealth).where(AccountHealth.account_id.in_(ids)).values(
            valid_until=case((or_(AccountHealth.valid_until.is_(None), AccountHealth.valid_until > now), now),
                             else_=AccountHealth.valid_until)))


def refresh_accounts(session: Session, account_ids: Iterable[int], now: dt.datetime) -> None:
    """Re-evaluate some accounts at `now` in the caller's transaction (after a write that changed their readings)."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    session.flush()
    locked = _lock(session, ids, now)
    _name, rules = default_rules(session)
    _store(session, evaluate_accounts(session, locked, rules, now).values(), rules_fingerprint(rules), now)


def refresh_stale(session: Session, now: dt.datetime, *, limit: int | None = None) -> int:
    """Re-evaluate, at `now`, up to `limit` accounts whose stored evaluation does not hold (or that have none).

    The scheduler pass calls it until none is left; a change of the default policy calls it to
    follow new rules at once. Rows another transaction is re-evaluating are skipped (they stay
    evaluated live until a later pass). Returns how many accounts were re-evaluated.
    """
    _name, rules = default_rules(session)
    fingerprint = rules_fingerprint(rules)
    stale = (select(Account.id).outerjoin(AccountHealth, AccountHealth.account_id == Account.id)
             .where(or_(AccountHealth.account_id.is_(None), AccountHealth.rules_hash != fingerprint,
                        AccountHealth.evaluated_at > now, AccountHealth.valid_until <= now))
             .order_by(Account.id))
    if limit is not None:
        stale = stale.limit(limit)
    ids = list(session.scalars(stale))
    locked = _lock(session, ids, now, skip_locked=True)
    if locked:
        _store(session, evaluate_accounts(session, locked, rules, now).values(), fingerprint, now)
    return len(locked)


def refresh_due(engine: Engine, now: dt.datetime, *, batch: int = 100) -> int:
    """The scheduler's part: re-evaluate every account whose evaluation stopped holding, `batch` per transaction."""
    done = 0
    while True:
        with session_scope(engine) as session:
            count = refresh_stale(session, now, limit=batch)
        done += count
        if count < batch:
            return done


def rebuild_account_health(session: Session, now: dt.datetime) -> int:
    """Evaluate every account at `now` from scratch (after bulk inserts, and as migration 0022's backfill)."""
    _name, rules = default_rules(session)
    session.execute(delete(AccountHealth))
    evaluations = evaluate_accounts(session, None, rules, now)
    fingerprint = rules_fingerprint(rules)
    rows = [{"account_id": e.account_id, "rules_hash": fingerprint, "evaluated_at": now, "valid_until": e.valid_until,
             "score": sum(w.weight for w in e.warnings), "warnings": [_stored_form(w) for w in e.warnings]}
            for e in evaluations.values()]
    if rows:
        session.execute(insert(AccountHealth), rows)
    return len(evaluations)
