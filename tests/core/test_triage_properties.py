"""Properties of triage that must hold for every policy and every checklist."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy.loading import load_preset, preset_names
from core.policy.rules import category_rank, level_rank, severity_rank
from core.policy.schema import Policy
from core.triage.rules import FIELD_CHOICES, FLAG_FIELDS, NUMBER_FIELDS, RED_FLAGS, Answers, number_range, triage
from core.vocabulary import CLOCKS, SEVERITIES

# A custom policy whose clocks run on office hours, so that the properties are
# also checked against a business-hours calendar.
OFFICE_HOURS = Policy.model_validate(
    {
        **load_preset("default").model_dump(mode="json"),
        "name": "office-hours",
        "calendars": {
            "default": {
                "kind": "business_hours",
                "tz": "America/New_York",
                "hours": {"mon": ["08:30-12:00", "13:00-18:00"], "wed": ["10:00-24:00"], "fri": ["09:00-17:00"]},
                "holidays": ["2025-07-04", "2025-12-25"],
            },
            "acknowledge": "24x7",
        },
    }
)
POLICIES = [load_preset(name) for name in preset_names()] + [OFFICE_HOURS]
SETTINGS = settings(max_examples=200, deadline=None)

# Values around the thresholds the playbooks use, mixed with arbitrary numbers.
THRESHOLDS = [0, 0.5, 1, 2, 4, 5, 6.9, 7, 8, 20, 24, 25, 50, 60, 61, 94.9, 95, 100, 240, 1000, 1001, 50000, 50001]


def _number(name):
    low, high = number_range(name)
    top = high if high is not None else 1e7
    near = [v for v in THRESHOLDS if low <= v <= top]
    return st.none() | st.sampled_from(near) | st.floats(min_value=low, max_value=top, allow_nan=False)


def _choice(name):
    default = Answers.model_fields[name].default
    values = st.sampled_from(FIELD_CHOICES[name])
    return values if default is not None else st.none() | values


ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        **{name: _choice(name) for name in FIELD_CHOICES},
        **{name: st.booleans() for name in FLAG_FIELDS},
        **{name: _number(name) for name in NUMBER_FIELDS},
        # Single-line text without NUL: what core.limits accepts for a customer name.
        "customer": st.none() | st.text(st.characters(blacklist_characters="\x00\r\n"), max_size=8),
    },
).map(lambda data: Answers(**data))

DETECTED = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")]),
)


def test_office_hours_policy_really_uses_business_hours():
    assert (OFFICE_HOURS.calendar_for("resolution").kind, OFFICE_HOURS.calendar_for("acknowledge").kind) == (
        "business_hours",
        "24x7",
    )


@SETTINGS
@given(policy=st.sampled_from(POLICIES), answers=ANSWERS, detected_at=DETECTED)
@pytest.mark.slow  # 200 Hypothesis examples, each a full triage
def test_exactly_one_severity_and_it_is_explained(policy, answers, detected_at):
    first = triage(answers, policy, detected_at)
    again = triage(answers, policy, detected_at)
    assert first == again
    assert first.severity in SEVERITIES
    explaining = [r for r in first.reasons if r.outcome.startswith(f"severity {first.severity}")]
    assert explaining, first.reasons


@SETTINGS
@given(policy=st.sampled_from(POLICIES), answers=ANSWERS, detected_at=DETECTED)
@pytest.mark.slow  # 200 Hypothesis examples, each a full triage
def test_deadlines_are_never_before_detection(policy, answers, detected_at):
    result = triage(answers, policy, detected_at)
    assert set(result.deadlines) <= set(CLOCKS)
    for moment in result.deadlines.values():
        assert moment.tzinfo == UTC
        assert moment >= detected_at
    if result.escalation_level is None:
        assert "escalation" not in result.deadlines


@SETTINGS
@given(
    policy=st.sampled_from(POLICIES),
    answers=ANSWERS,
    flag=st.sampled_from(RED_FLAGS),
    detected_at=DETECTED,
)
@pytest.mark.slow  # 200 Hypothesis examples, each a full triage
def test_a_red_flag_never_lowers_the_outcome(policy, answers, flag, detected_at):
    before = triage(answers, policy, detected_at)
    after = triage(answers.model_copy(update={flag: True}), policy, detected_at)
    assert severity_rank(after.severity) >= severity_rank(before.severity)
    assert level_rank(after.escalation_level) >= level_rank(before.escalation_level)
    assert category_rank(after.escalation_category) >= category_rank(before.escalation_category)
    assert after.red_status >= before.red_status
