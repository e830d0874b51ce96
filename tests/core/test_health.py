"""Early-warning rules, case by case, with the numbers of the playbooks.

SPARK (spark-customer-emergency-protocol.md, Early Warning System): ticket volume
up 50%+, the same customer with 3+ tickets this week, error rates trending up for
48+ hours, satisfaction dropping. Red status (red-status-response-protocol.md,
Critical Red Status Indicators): a metric >20% under target, CSAT <7/10, uptime <95%.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.account.health import (
    HealthWarning,
    Observation,
    change_offsets,
    evaluate,
    evaluate_rule,
    evaluated_rules,
    lookback,
    rank,
    triage_prefill,
    valid_until,
)
from core.policy.loading import PolicyError, load_preset, parse_policy
from tests.conftest import NOW


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(days=days, hours=hours)


def rule(policy: str, key: str):
    return next(r for r in load_preset(policy).early_warning if r.key == key)


def readings(metric: str, points: list[tuple[dt.datetime, float]], target: float | None = None) -> list[Observation]:
    return [Observation(1, metric, when, value, target) for when, value in points]


def fires(policy: str, key: str, obs: list[Observation]) -> bool:
    return evaluate_rule(rule(policy, key), obs, NOW) is not None


# Tickets per day: the last 7 days against the 7 days before.
@pytest.mark.parametrize("policy", ["spark", "default"])
@pytest.mark.parametrize(
    "this_week, last_week, expected",
    [
        ([3, 3], [2, 2], True),      # 6 against 4: +50%, the threshold itself
        ([3, 2], [2, 2], False),     # 5 against 4: +25%
        ([10], [1, 1, 1, 1], True),  # 10 against 4: +150%
        ([4], [4], False),           # flat
        ([2], [4], False),           # down
        ([5], [], False),            # no baseline week: nothing to compare with
        ([], [4], False),            # no tickets this week
    ],
)
def test_ticket_volume_surge(policy, this_week, last_week, expected):
    points = [(at(days=1 + i), v) for i, v in enumerate(this_week)]
    points += [(at(days=8 + i), v) for i, v in enumerate(last_week)]
    assert fires(policy, "ticket-volume-surge", readings("support_tickets", points)) is expected


@pytest.mark.parametrize("policy", ["spark", "default"])
@pytest.mark.parametrize(
    "points, expected",
    [
        ([(at(days=1), 3)], True),                      # 3 tickets this week
        ([(at(days=1), 1), (at(days=6), 2)], True),      # 1 + 2 within 7 days
        ([(at(days=1), 2)], False),                      # 2 tickets
        ([(at(days=1), 2), (at(days=7, hours=1), 5)], False),  # the 5 are older than a week
        ([(at(days=7), 1), (at(days=2), 2)], False),     # exactly 7 days ago is outside the window
    ],
)
def test_same_customer_three_tickets_this_week(policy, points, expected):
    assert fires(policy, "repeat-tickets", readings("support_tickets", points)) is expected


@pytest.mark.parametrize("policy", ["spark", "default"])
@pytest.mark.parametrize(
    "hours_ago_and_values, expected",
    [
        ([(48, 1.0), (24, 1.5), (0, 2.0)], True),           # rising for exactly 48 hours
        ([(72, 1.0), (36, 1.2), (0, 3.0)], True),           # 72 hours
        ([(47, 1.0), (20, 1.5), (0, 2.0)], False),          # 47 hours only
        ([(60, 1.0), (48, 3.0), (24, 2.0), (0, 2.5)], False),  # fell at 24h: the rising run is 24h
        ([(60, 1.0), (30, 1.0), (0, 2.0)], False),          # flat between 60h and 30h: rising 30h only
        ([(48, 2.0), (24, 1.5), (0, 1.0)], False),          # declining
        ([(0, 5.0)], False),                                # one reading says nothing about a trend
    ],
)
def test_error_rates_rising_for_48_hours(policy, hours_ago_and_values, expected):
    points = [(at(hours=h), v) for h, v in hours_ago_and_values]
    assert fires(policy, "rising-errors", readings("error_rate", points)) is expected


@pytest.mark.parametrize("policy", ["spark", "default"])
@pytest.mark.parametrize(
    "values, expected",
    [
        ([8.0, 7.5], True),
        ([9.0, 4.0], True),
        ([7.0, 7.0], False),
        ([6.0, 8.0], False),   # improving
        ([5.0], False),        # a single score is not a trend
        ([8.0, 6.0, 7.0], False),  # the latest is a recovery
    ],
)
def test_satisfaction_dropping(policy, values, expected):
    points = [(at(days=len(values) - i), v) for i, v in enumerate(values)]
    assert fires(policy, "satisfaction-dropping", readings("csat", points)) is expected


@pytest.mark.parametrize("policy", ["red-status", "default"])
@pytest.mark.parametrize(
    "value, target, expected",
    [
        (79.0, 100.0, True),    # 21% under
        (80.0, 100.0, False),   # exactly 20%: the playbook says more than 20%
        (100.0, 100.0, False),
        (120.0, 100.0, False),  # above target
        (7.0, 10.0, True),      # 30% under
    ],
)
def test_metric_more_than_20_percent_below_target(policy, value, target, expected):
    obs = readings("key_metric", [(at(days=1), value)], target)
    assert fires(policy, "metric-shortfall", obs) is expected


def test_metric_without_target_is_not_judged():
    assert not fires("default", "metric-shortfall", readings("key_metric", [(at(days=1), 1.0)]))


@pytest.mark.parametrize("policy", ["red-status", "default"])
@pytest.mark.parametrize(
    "values, expected",
    [([6.9], True), ([7.0], False), ([3.0], True), ([9.5], False), ([5.0, 8.0], False), ([8.0, 6.0], True)],
)
def test_csat_under_7(policy, values, expected):
    points = [(at(days=len(values) - i), v) for i, v in enumerate(values)]
    assert fires(policy, "low-csat", readings("csat", points)) is expected


@pytest.mark.parametrize("policy", ["red-status", "default"])
@pytest.mark.parametrize("value, expected", [(94.9, True), (95.0, False), (80.0, True), (99.99, False)])
def test_uptime_under_95(policy, value, expected):
    assert fires(policy, "low-uptime", readings("uptime_pct", [(at(days=1), value)])) is expected


def test_preset_rules_match_their_playbooks():
    assert [(r.key, r.metric, r.kind) for r in evaluated_rules(load_preset("spark"))] == [
        ("ticket-volume-surge", "support_tickets", "increase_pct"),
        ("repeat-tickets", "support_tickets", "count_in_window"),
        ("rising-errors", "error_rate", "rising_for"),
        ("satisfaction-dropping", "csat", "dropping"),
    ]
    assert [(r.key, r.metric, r.kind) for r in evaluated_rules(load_preset("red-status"))] == [
        ("metric-shortfall", "key_metric", "below_target_pct"),
        ("low-csat", "csat", "below_value"),
        ("low-uptime", "uptime_pct", "below_value"),
    ]
    assert {r.key for r in evaluated_rules(load_preset("default"))} == {
        "metric-shortfall", "low-csat", "low-uptime", "ticket-volume-surge", "repeat-tickets", "rising-errors",
        "satisfaction-dropping"}
    assert evaluated_rules(load_preset("crisis")) == []


def test_evaluate_ignores_future_readings_and_other_metrics_and_gives_reasons():
    obs = [
        Observation(1, "csat", at(days=2), 8.0),
        Observation(1, "csat", NOW + dt.timedelta(hours=1), 2.0),  # not yet observed at NOW
        Observation(2, "uptime_pct", at(days=1), 90.0),
        Observation(2, "error_rate", at(days=1), 90.0),
    ]
    warnings = evaluate(obs, evaluated_rules(load_preset("default")), NOW)
    assert [(w.account_id, w.rule) for w in warnings] == [(2, "low-uptime")]
    assert warnings[0].reason == "Latest Uptime (%) is 90 (rule: under 95%)"
    assert warnings[0].answers == {"uptime_pct": 90.0}


def test_reasons_say_the_numbers():
    obs = readings("support_tickets", [(at(days=1), 6), (at(days=8), 4)])
    warning = evaluate_rule(rule("spark", "ticket-volume-surge"), obs, NOW)
    assert warning.reason == ("Support tickets +50%: 6 in the last 7 days against 4 in the 7 days before "
                              "(rule: at least 50%)")
    errors = readings("error_rate", [(at(hours=50), 1), (at(hours=0), 3)])
    assert evaluate_rule(rule("spark", "rising-errors"), errors, NOW).reason == (
        "Error rate (%) rose at every reading for 50 hours, from 1 to 3 (rule: at least 48h)")


@pytest.mark.parametrize(
    "key, metric, points, target, prefill",
    [
        ("low-csat", "csat", [6.5], None, {"csat": 6.5}),
        ("low-uptime", "uptime_pct", [91.25], None, {"uptime_pct": 91.2}),
        ("metric-shortfall", "key_metric", [-50.0], 100.0, {"metric_shortfall_pct": 100.0}),  # clamped
        ("metric-shortfall", "key_metric", [60.0], 100.0, {"metric_shortfall_pct": 40.0}),
    ],
)
def test_warning_implies_triage_answers(key, metric, points, target, prefill):
    obs = readings(metric, [(at(days=1), v) for v in points], target)
    assert triage_prefill(evaluate_rule(rule("default", key), obs, NOW)) == prefill


def test_warnings_without_an_answer_field_imply_no_answers():
    obs = readings("support_tickets", [(at(days=1), 3)])
    assert triage_prefill(evaluate_rule(rule("default", "repeat-tickets"), obs, NOW)) == {}


def _warning(account_id: int, predicts: tuple[str, ...]) -> HealthWarning:
    return HealthWarning(account_id, "r", "t", "csat", 1.0, "why", "s", predicts)


def test_rank_puts_the_riskiest_account_first():
    ranked = rank([_warning(1, ("P1",)), _warning(2, ("P0", "P1")), _warning(3, ("P1",)), _warning(3, ("P1",))])
    assert [(r.account_id, r.score) for r in ranked] == [(3, 4), (2, 3), (1, 2)]


def test_lookback_covers_two_windows():
    assert lookback(evaluated_rules(load_preset("default"))) == dt.timedelta(days=60)
    policy_rule = rule("spark", "repeat-tickets").model_copy(update={"window": dt.timedelta(days=40)})
    assert lookback([policy_rule]) == dt.timedelta(days=80)


BASE = load_preset("default").model_dump(mode="json")


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"metric": "csat"}, "give both metric and kind"),
        ({"metric": "csat", "kind": "below_value"}, "needs a numeric threshold"),
        ({"metric": "support_tickets", "kind": "count_in_window", "comparison": "gte", "value": 3, "unit": "count"},
         "give window"),
        ({"metric": "error_rate", "kind": "rising_for"}, "needs a duration threshold"),
        ({"metric": "csat", "kind": "increase_pct", "window": "1w", "comparison": "gte", "value": 50,
          "unit": "percent"}, "metric must be one of: support_tickets"),
        ({"metric": "nps", "kind": "below_value", "comparison": "lt", "value": 7, "unit": "score"}, "'nps'"),
        ({"metric": "csat", "kind": "sideways"}, "'sideways'"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_message(entry, message):
    import yaml

    data = dict(BASE, early_warning=[{"key": "x", "title": "X", "section": "S", **entry}])
    with pytest.raises(PolicyError) as raised:
        parse_policy(yaml.safe_dump(data), "team.yaml")
    assert re.match(r"team\.yaml:\d+: early_warning\[0\]", str(raised.value)), str(raised.value)
    assert message in str(raised.value)


def test_demo_histories_trigger_each_rule_on_their_account_only(engine):
    from decimal import Decimal

    from sqlalchemy import select

    from core.account import signals
    from core.demo import health as demo_health
    from db.engine import read_scope, session_scope
    from db.models import Account

    with session_scope(engine) as s:
        for i in range(18):
            s.add(Account(name=f"Demo {i:02d}", tier="pro", annual_contract_value=Decimal(1000)))
    with session_scope(engine) as s:
        assert demo_health.load(s, now=NOW) > 18 * demo_health.BASELINE_DAYS
    with read_scope(engine) as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id)))
        report = signals.health_report(s, ids, NOW)
    fired = {(ids.index(w.account_id), w.rule) for w in report.warnings}
    expected = set(demo_health.TRIGGERS.items()) | {(1, "repeat-tickets"), (10, "satisfaction-dropping")}
    assert fired == expected
    assert {rule for _, rule in fired} == {r.key for r in evaluated_rules(load_preset("default"))}



# --------------------------------------------------------------------------
# How long an evaluation holds (the stored account health relies on it).


@pytest.mark.parametrize("policy, expected", [
    ("default", {"support_tickets": {0, 7, 14}, "csat": {0, 60}, "uptime_pct": {0, 60}, "error_rate": {0, 60},
                 "key_metric": {0, 60}}),
    ("spark", {"support_tickets": {0, 7, 14}, "csat": {0, 60}, "error_rate": {0, 60}}),
    ("red-status", {"csat": {0, 60}, "uptime_pct": {0, 60}, "key_metric": {0, 60}}),
])
def test_change_offsets_per_metric(policy, expected):
    found = change_offsets(evaluated_rules(load_preset(policy)))
    assert {metric: {offset / dt.timedelta(days=1) for offset in offsets} for metric, offsets in found.items()} \
        == expected


def _seen(obs: list[Observation], rules, moment: dt.datetime) -> list[Observation]:
    # What a read at `moment` gives the rules: the readings of the lookback up to `moment`.
    start = moment - lookback(rules)
    return [o for o in obs if start < o.observed_at <= moment]


@pytest.mark.parametrize("policy", ["default", "spark"])
@pytest.mark.parametrize("seed", range(12))
def test_an_evaluation_holds_at_every_moment_until_valid_until(policy, seed):
    import random

    rng = random.Random(seed)
    rules = evaluated_rules(load_preset(policy))
    metrics = ["support_tickets", "csat", "error_rate", "uptime_pct", "key_metric"]
    obs = []
    for _ in range(rng.randint(1, 60)):
        metric = rng.choice(metrics + ["support_tickets"] * 3)
        moment = NOW - dt.timedelta(minutes=rng.randint(-3 * 24 * 60, 75 * 24 * 60))
        value = float(rng.randint(0, 12)) if metric != "key_metric" else float(rng.randint(50, 120))
        obs.append(Observation(1, metric, moment, value, 100.0 if metric == "key_metric" else None))
    moment = NOW
    for _step in range(30):  # follow the answer through its next changes
        now_seen = _seen(obs, rules, moment)
        until = valid_until([(o.metric, o.observed_at) for o in now_seen]
                            + [(o.metric, o.observed_at) for o in obs if o.observed_at > moment], [], rules, moment)
        expected = evaluate(now_seen, rules, moment)
        end = until or moment + dt.timedelta(days=200)
        probes = [moment + (end - moment) * rng.random() for _ in range(8)] + [end - dt.timedelta(microseconds=1)]
        for probe in probes:
            assert evaluate(_seen(obs, rules, probe), rules, probe) == expected, (moment, probe, until)
        if until is None:
            break
        moment = until

