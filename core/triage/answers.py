"""The triage checklist's answer vocabulary: the fields, their allowed values, labels and help, and parsing.

Policies write their rule conditions in this vocabulary (`core.policy.schema` checks them against
it), and `core.triage.rules` decides on answers of this shape. Pure data and validation: no I/O,
no clock, no policy, never streamlit.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from core.limits import TITLE, TitleText
from core.vocabulary import TIERS, Tier

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
BusinessImpact = Literal["stopped", "major", "minor", "none"]
Workaround = Literal["none", "painful", "easy"]
Level3 = Literal["high", "medium", "low"]
SystemAffected = Literal["core", "secondary", "feature"]
YesNoUnknown = Literal["yes", "no", "unknown"]
Rollback = Literal["yes", "no", "risky"]


class Answers(BaseModel):
    """The triage checklist; every answer is optional and an unanswered one never fires a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Account
    # The account's name; accounts named before the 120-character limit may have up to 200 (the column).
    customer: TitleText | None = None
    customer_tier: Tier | None = None
    annual_contract_value: Money | None = None
    # Customer impact
    business_impact: BusinessImpact | None = None
    revenue_impact_per_hour: Money | None = None
    workaround: Workaround | None = None
    reputation_risk: Level3 | None = None
    # Technical assessment
    system_affected: SystemAffected | None = None
    other_customers_affected: YesNoUnknown = "unknown"
    users_affected_pct: Percent | None = None
    quick_fix: YesNoUnknown = "unknown"
    rollback: Rollback | None = None
    # Red flags
    complete_outage: bool = False
    security_breach: bool = False
    data_loss: bool = False
    data_integrity: bool = False
    payment_failure: bool = False
    legal_compliance: bool = False
    termination_threat: bool = False
    public_reputation_risk: bool = False
    multiple_components_failed: bool = False
    management_requested: bool = False
    # Not red flags: they mark a case as less of an emergency than it sounds.
    feature_request: bool = False
    cosmetic: bool = False
    # Figures
    outage_minutes: NonNegative | None = None
    unresolved_hours: NonNegative | None = None
    failed_attempts: NonNegative | None = None
    refund_amount: Money | None = None
    csat: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] | None = None
    uptime_pct: Percent | None = None
    metric_shortfall_pct: Percent | None = None

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_field",
                        "unknown field '{key}'; allowed fields: {allowed}",
                        {"key": str(key), "allowed": ", ".join(cls.model_fields), "at": [str(key)]},
                    )
        return data


FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "customer_tier": TIERS,
    "business_impact": get_args(BusinessImpact),
    "workaround": get_args(Workaround),
    "reputation_risk": get_args(Level3),
    "system_affected": get_args(SystemAffected),
    "other_customers_affected": get_args(YesNoUnknown),
    "quick_fix": get_args(YesNoUnknown),
    "rollback": get_args(Rollback),
}
FLAG_FIELDS: tuple[str, ...] = (
    "complete_outage",
    "security_breach",
    "data_loss",
    "data_integrity",
    "payment_failure",
    "legal_compliance",
    "termination_threat",
    "public_reputation_risk",
    "multiple_components_failed",
    "management_requested",
    "feature_request",
    "cosmetic",
)
# Ticking one of these may only ever make the outcome more serious.
RED_FLAGS: tuple[str, ...] = tuple(f for f in FLAG_FIELDS if f not in ("feature_request", "cosmetic"))
NUMBER_FIELDS: tuple[str, ...] = (
    "annual_contract_value",
    "revenue_impact_per_hour",
    "users_affected_pct",
    "outage_minutes",
    "unresolved_hours",
    "failed_attempts",
    "refund_amount",
    "csat",
    "uptime_pct",
    "metric_shortfall_pct",
)
TEXT_FIELDS: tuple[str, ...] = ("customer",)

ANSWER_FIELDS: list[tuple[str, list[str]]] = [
    ("Account", ["customer", "customer_tier", "annual_contract_value"]),
    ("Customer impact", ["business_impact", "revenue_impact_per_hour", "workaround", "reputation_risk"]),
    (
        "Technical assessment",
        ["system_affected", "other_customers_affected", "users_affected_pct", "quick_fix", "rollback"],
    ),
    ("Red flags", list(FLAG_FIELDS)),
    (
        "Figures",
        [
            "outage_minutes",
            "unresolved_hours",
            "failed_attempts",
            "refund_amount",
            "csat",
            "uptime_pct",
            "metric_shortfall_pct",
        ],
    ),
]

FIELD_LABELS: dict[str, str] = {
    "customer": "Customer",
    "customer_tier": "Customer plan",
    "annual_contract_value": "Annual contract value (USD)",
    "business_impact": "Effect on the customer's business",
    "revenue_impact_per_hour": "Revenue lost per hour (USD)",
    "workaround": "Workaround",
    "reputation_risk": "Risk to the customer's public reputation",
    "system_affected": "Part of the system affected",
    "other_customers_affected": "Other customers affected?",
    "users_affected_pct": "Share of users affected (%)",
    "quick_fix": "Quick fix possible?",
    "rollback": "Rollback available?",
    "complete_outage": "Complete outage",
    "security_breach": "Security breach",
    "data_loss": "Data lost or corrupted",
    "data_integrity": "Data integrity in doubt",
    "payment_failure": "Payments or billing failing",
    "legal_compliance": "Legal or compliance issue",
    "termination_threat": "Customer threatens to leave",
    "public_reputation_risk": "Public reputation at risk",
    "multiple_components_failed": "Several components failed",
    "management_requested": "Customer asked for management / formal complaint",
    "feature_request": "Really a feature request",
    "cosmetic": "Cosmetic only",
    "outage_minutes": "Outage so far (minutes)",
    "unresolved_hours": "Unresolved for (hours)",
    "failed_attempts": "Failed fix attempts",
    "refund_amount": "Refund requested (USD)",
    "csat": "Latest satisfaction score (0-10)",
    "uptime_pct": "Uptime over the period (%)",
    "metric_shortfall_pct": "Worst metric below its target by (%)",
}

FIELD_HELP: dict[str, str] = {
    "customer": "The account this emergency is about.",
    "customer_tier": "The customer's plan; some policies answer faster for higher plans.",
    "annual_contract_value": "What the account pays per year; large accounts are escalated sooner.",
    "business_impact": (
        "stopped: they cannot work; major: badly hampered; minor: inconvenienced; none: no effect today."
    ),
    "revenue_impact_per_hour": "Your best estimate of what the customer loses per hour while this lasts.",
    "workaround": "none: nothing helps; painful: there is one but it costs them; easy: a simple alternative exists.",
    "reputation_risk": "How exposed the customer is in front of their own clients or the public.",
    "system_affected": "core: the main product; secondary: a supporting system; feature: a single feature.",
    "other_customers_affected": "Whether the problem reaches beyond this customer.",
    "users_affected_pct": "Roughly what share of the customer's users cannot work normally.",
    "quick_fix": "Whether engineering sees a fast fix; unknown while it still needs investigation.",
    "rollback": "Whether a recent change can be undone; risky if undoing it could cause other harm.",
    "complete_outage": "The service is fully down for the customer.",
    "security_breach": "Unauthorised access, a breach or a security compromise is suspected or confirmed.",
    "data_loss": "Customer data has been lost or corrupted.",
    "data_integrity": "Data may be wrong or inconsistent, even if nothing is lost yet.",
    "payment_failure": "Payment processing or billing is failing.",
    "legal_compliance": "Legal threats, regulatory questions or a compliance violation are involved.",
    "termination_threat": "The customer has said they may cancel or leave.",
    "public_reputation_risk": "The issue could become public (press, social media) and hurt our reputation.",
    "multiple_components_failed": "More than one part of the system has failed at once.",
    "management_requested": "The customer asked to speak with management or filed a formal complaint.",
    "feature_request": "What is reported as an emergency is really a request for something new.",
    "cosmetic": "Only the look of something is wrong; nothing stops working.",
    "outage_minutes": "How long the outage has lasted so far.",
    "unresolved_hours": "How long the issue has been open without a fix.",
    "failed_attempts": "How many fixes have been tried without success.",
    "refund_amount": "The refund or credit the customer asks for.",
    "csat": "The customer's most recent satisfaction score, out of 10.",
    "uptime_pct": "Measured availability over the reporting period.",
    "metric_shortfall_pct": "How far the worst agreed metric is below its target, in percent.",
}


class AnswersError(ValueError):
    """The checklist answers are invalid; the message names the field and the allowed values."""


def parse_answers(data: object) -> Answers:
    """Validate raw answers (e.g. parsed JSON); raise AnswersError naming the field and what is allowed."""
    try:
        return Answers.model_validate(data)
    except ValidationError as exc:
        raise AnswersError(describe_answer_errors(exc)) from None


def describe_answer_errors(exc: ValidationError) -> str:
    """Turn a validation error on Answers into plain lines naming each field and what it accepts."""
    lines = []
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        loc = [str(part) for part in error["loc"]] + [str(part) for part in ctx.get("at", [])]
        name = ".".join(loc) or "answers"
        if error["type"] == "unknown_field":
            lines.append(f"answers: {error['msg']}")
            continue
        message = error["msg"]
        if error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed; allowed values: {ctx.get('expected')}"
        elif error["type"] == "value_error" and loc and loc[0] in TEXT_FIELDS:
            message = message.removeprefix("Value error, ")  # a text limit (core.limits) says it all
        elif error["type"] == "model_type":
            lines.append("answers: must be a JSON object mapping field names to values")
            continue
        elif loc and loc[0] in Answers.model_fields:
            message = f"{message}; allowed: {_allowed_values(loc[0])}"
        lines.append(f"answers: field '{name}': {message}")
    return "\n".join(lines)


def _allowed_values(name: str) -> str:
    if name in FLAG_FIELDS:
        return "true or false"
    if name in TEXT_FIELDS:
        return f"text on one line, at most {TITLE.max_chars} characters"
    low, high = number_range(name)
    return f"a number from {low:g} to {high:g}" if high is not None else f"a number of at least {low:g}"


def number_range(name: str) -> tuple[float, float | None]:
    """Return the (minimum, maximum or None) accepted for a numeric answer field."""
    schema = Answers.model_json_schema()["properties"][name]
    number = next(option for option in schema.get("anyOf", [schema]) if option.get("type") == "number")
    return number.get("minimum", 0), number.get("maximum")
