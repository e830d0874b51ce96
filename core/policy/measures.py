"""What a policy measures: the objectives it reports on and the early-warning signals it watches.

An objective is a target dashboards report (95 % of critical incidents resolved
within 4 hours); an early-warning rule is a threshold on an account health signal
that predicts an emergency before the customer reports one (core.account.health
evaluates it). Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import model_validator

from core.policy.notation import Duration, PolicyModel, Slug, Text, policy_error
from core.vocabulary import Clock, Severity

Comparison = Literal["lt", "lte", "gt", "gte", "eq"]
# Account health signals an early-warning rule can watch, and how it measures them
# (see core.account.health for what each kind computes).
SignalMetric = Literal["support_tickets", "csat", "error_rate", "uptime_pct", "key_metric"]
WarningKind = Literal["increase_pct", "count_in_window", "rising_for", "below_target_pct", "below_value", "dropping"]
SIGNAL_METRICS: tuple[str, ...] = get_args(SignalMetric)
# Metrics that count events per day: windows add them up instead of averaging.
COUNT_METRICS: tuple[str, ...] = ("support_tickets",)
_KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "increase_pct": ("window", "value"),
    "count_in_window": ("window", "value"),
    "rising_for": ("duration",),
    "below_target_pct": ("value",),
    "below_value": ("value",),
    "dropping": (),
}


class _Measured(PolicyModel):
    """A number or duration compared against a threshold."""

    comparison: Comparison | None = None
    value: float | None = None
    duration: Duration | None = None
    unit: Literal["percent", "score", "count", "duration"] | None = None

    @model_validator(mode="after")
    def _one_measure(self) -> _Measured:
        if self.value is not None and self.duration is not None:
            raise policy_error("give either value or duration, not both")
        if self.duration is not None and self.unit not in (None, "duration"):
            raise policy_error("a duration threshold has unit: duration", ["unit"])
        if self.value is not None and self.unit in (None, "duration"):
            raise policy_error("a numeric threshold needs a unit: percent, score or count", ["unit"])
        if (self.value is not None or self.duration is not None) and self.comparison is None:
            raise policy_error("a threshold needs a comparison: lt, lte, gt, gte or eq", ["comparison"])
        return self


class Objective(_Measured):
    """A target the organisation reports on (shown by dashboards, not used by triage)."""

    key: Slug
    title: Text
    section: Text
    within: Duration | None = None
    period: Duration | None = None
    clock: Clock | None = None
    severities: tuple[Severity, ...] = ()
    # Only incidents where one of these rules fired (red-status: "data issues" are the data rules).
    rules: tuple[Slug, ...] = ()

    @model_validator(mode="after")
    def _has_target(self) -> Objective:
        if self.value is None and self.duration is None:
            raise policy_error("an objective needs a value or a duration")
        return self


class EarlyWarning(_Measured):
    """A signal that predicts an emergency before the customer reports one.

    With ``metric`` and ``kind`` the rule is evaluated on account health signals
    (core.account.health): it fires when the measure of its kind compares to the
    threshold as ``comparison`` says. Without them it is documentation only.
    """

    key: Slug
    title: Text
    section: Text
    answer_field: str | None = None
    window: Duration | None = None
    predicts: tuple[Severity, ...] = ()
    metric: SignalMetric | None = None
    kind: WarningKind | None = None

    @model_validator(mode="after")
    def _evaluable(self) -> EarlyWarning:
        if self.metric is None and self.kind is None:
            return self
        if self.metric is None or self.kind is None:
            raise policy_error("give both metric and kind, or neither (the rule is then not evaluated)")
        needs = _KIND_NEEDS[self.kind]
        if "window" in needs and self.window is None:
            raise policy_error(f"kind {self.kind} compares a time window: give window, e.g. 1w", ["window"])
        if "value" in needs and self.value is None:
            raise policy_error(f"kind {self.kind} needs a numeric threshold: comparison, value and unit", ["value"])
        if "duration" in needs and self.duration is None:
            raise policy_error(f"kind {self.kind} needs a duration threshold: comparison and duration, e.g. 48h",
                                ["duration"])
        if self.kind == "dropping" and self.duration is not None:
            raise policy_error("kind dropping takes no duration; give value for the smallest drop, or nothing",
                                ["duration"])
        if self.kind in ("count_in_window", "increase_pct") and self.metric not in COUNT_METRICS:
            raise policy_error(f"kind {self.kind} adds up counts; metric must be one of: {', '.join(COUNT_METRICS)}",
                                ["metric"])
        return self
