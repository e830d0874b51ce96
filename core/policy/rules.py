"""The rule language of a policy, and how severities, categories and levels rank.

Rule language (used by ``rules[].when``, ``escalation_levels[].triggers[].when``
and ``phases[].when``): a condition is a mapping. A key that is an answer field
compares that answer -- a plain value means "equals", a list means "one of",
and a mapping of operators (``eq``, ``in``, ``gt``, ``gte``, ``lt``, ``lte``)
applies each of them. ``any: [...]`` and ``all: [...]`` combine conditions;
several keys in one mapping must all hold. An unanswered field never matches.
Flags may only be tested for ``true``, so that ticking one more red flag can
never make a rule stop firing. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic_core import core_schema

from core.policy.notation import policy_error
from core.triage import answers as triage
from core.vocabulary import LEVEL_IDS, SEVERITIES

EscalationCategory = Literal["none", "standard", "priority", "immediate"]
# Ordered from least to most urgent, so that "the highest wins" is max().
ESCALATION_CATEGORIES: tuple[str, ...] = get_args(EscalationCategory)




@dataclass(frozen=True)
class _Vocabulary:
    choices: dict[str, tuple[str, ...]]
    flags: tuple[str, ...]
    numbers: tuple[str, ...]
    texts: tuple[str, ...]

    order: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.order


@functools.cache
def _vocabulary() -> _Vocabulary:
    # The triage checklist's answers are what rules may talk about.
    return _Vocabulary(
        choices=dict(triage.FIELD_CHOICES),
        flags=tuple(triage.FLAG_FIELDS),
        numbers=tuple(triage.NUMBER_FIELDS),
        texts=tuple(triage.TEXT_FIELDS),
        order=tuple(triage.Answers.model_fields),
    )


_COMBINATORS = ("any", "all")
_NUMBER_OPS = ("eq", "gt", "gte", "lt", "lte")
_CHOICE_OPS = ("eq", "in")
Scalar = bool | float | str


@dataclass(frozen=True)
class Condition:
    """One node of a rule condition: ``any``/``all`` of children, or a comparison of one answer."""

    op: str
    field: str | None = None
    value: Scalar | tuple[Scalar, ...] | None = None
    children: tuple[Condition, ...] = ()

    def matches(self, answers: object) -> bool:
        """Tell whether the answers satisfy this condition (unanswered fields never match)."""
        if self.op == "any":
            return any(child.matches(answers) for child in self.children)
        if self.op == "all":
            return all(child.matches(answers) for child in self.children)
        actual = getattr(answers, str(self.field))
        if actual is None:
            return False
        if self.op == "eq":
            return bool(actual == self.value)
        if self.op == "in":
            return bool(actual in self.value)  # type: ignore[operator]  # 'in' conditions always hold a tuple
        limit = float(self.value)  # type: ignore[arg-type]  # number comparisons always hold a float
        return bool({
            "gt": actual > limit,
            "gte": actual >= limit,
            "lt": actual < limit,
            "lte": actual <= limit,
        }[self.op])

    def fields(self) -> set[str]:
        """Return the answer fields this condition reads."""
        if self.field is not None:
            return {self.field}
        return set().union(*(child.fields() for child in self.children))

    def to_data(self) -> dict[str, Any]:
        """Return the condition in the same notation the policy file uses."""
        if self.op in _COMBINATORS:
            return {self.op: [child.to_data() for child in self.children]}
        field = str(self.field)  # a comparison always names its field
        if self.op == "eq":
            return {field: self.value}
        if self.op == "in":
            return {field: list(self.value)}  # type: ignore[arg-type]  # 'in' conditions always hold a tuple
        return {field: {self.op: self.value}}

    @classmethod
    def parse(cls, raw: object, at: list[Any] | None = None) -> Condition:
        """Parse and check a condition written in the policy notation."""
        at = at or []
        if isinstance(raw, Condition):
            return raw
        vocabulary = _vocabulary()
        if not isinstance(raw, dict) or not raw:
            raise policy_error(
                "a condition is a non-empty mapping, e.g. {business_impact: stopped} "
                "or {any: [{complete_outage: true}, {outage_minutes: {gt: 60}}]}",
                at,
            )
        parts: list[Condition] = []
        for key, value in raw.items():
            here = [*at, key]
            if key in _COMBINATORS:
                if not isinstance(value, list) or not value:
                    raise policy_error(f"'{key}' takes a non-empty list of conditions", here)
                children = tuple(cls.parse(item, [*here, i]) for i, item in enumerate(value))
                parts.append(cls(op=key, children=children))
            elif key in vocabulary.fields:
                parts.extend(_parse_comparisons(str(key), value, here, vocabulary))
            else:
                raise policy_error(
                    f"unknown field or operator '{key}'; allowed: any, all, or an answer field: "
                    + ", ".join(vocabulary.fields),
                    here,
                )
        return parts[0] if len(parts) == 1 else cls(op="all", children=tuple(parts))

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda c: c.to_data()),
        )


def _parse_comparisons(field: str, raw: object, at: list[Any], vocabulary: _Vocabulary) -> list[Condition]:
    if isinstance(raw, dict):
        if not raw:
            raise policy_error("an empty mapping compares nothing", at)
        operations = list(raw.items())
    elif isinstance(raw, list):
        operations = [("in", raw)]
    else:
        operations = [("eq", raw)]
    result = []
    for op, value in operations:
        here = [*at, op] if isinstance(raw, dict) else at
        result.append(_parse_comparison(field, str(op), value, here, vocabulary))
    return result


def _parse_comparison(field: str, op: str, value: object, at: list[Any], vocabulary: _Vocabulary) -> Condition:
    if field in vocabulary.flags:
        if op != "eq" or value is not True:
            raise policy_error(
                f"'{field}' is a flag: a rule may only test that it is set ({field}: true), "
                "so that ticking a flag can never make a rule stop firing",
                at,
            )
        return Condition(op="eq", field=field, value=True)
    if field in vocabulary.numbers:
        if op not in _NUMBER_OPS:
            raise policy_error(
                f"operator '{op}' does not apply to the number '{field}'; allowed operators: "
                + ", ".join(_NUMBER_OPS),
                at,
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise policy_error(f"'{field}' is compared with a number, got {value!r}", at)
        return Condition(op=op, field=field, value=float(value))
    if op not in _CHOICE_OPS:
        raise policy_error(
            f"operator '{op}' does not apply to '{field}'; allowed operators: " + ", ".join(_CHOICE_OPS),
            at,
        )
    choices = vocabulary.choices.get(field)
    values = value if op == "in" else [value]
    if not isinstance(values, list) or not values:
        raise policy_error(f"'in' takes a non-empty list of values for '{field}'", at)
    checked: list[str] = []
    for written in values:
        # YAML reads a bare yes/no as a boolean.
        item = ("yes" if written else "no") if isinstance(written, bool) and choices and "yes" in choices else written
        if not isinstance(item, str) or (choices is not None and item not in choices):
            allowed = ", ".join(choices) if choices else "any text"
            raise policy_error(f"{item!r} is not a value of '{field}'; allowed values: {allowed}", at)
        checked.append(item)
    if op == "eq":
        return Condition(op="eq", field=field, value=checked[0])
    return Condition(op="in", field=field, value=tuple(checked))


def answer_fields() -> tuple[str, ...]:
    """The triage answer fields a policy may refer to, in checklist order."""
    return _vocabulary().fields


def severity_rank(severity: str) -> int:
    """Return how severe a severity is: larger is more severe (P0 highest)."""
    return len(SEVERITIES) - SEVERITIES.index(severity)


def category_rank(category: str | None) -> int:
    """Return how urgent an escalation category is: larger is more urgent (none is 0)."""
    return ESCALATION_CATEGORIES.index(category) if category else 0


def level_rank(level_id: str | None) -> int:
    """Return how high an escalation level is: L1 is 1, no level is 0."""
    return LEVEL_IDS.index(level_id) + 1 if level_id else 0
