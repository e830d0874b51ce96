"""How a policy file writes its values: durations, texts, keys, and the strict model they live in.

Durations are written the way people write them (``15m``, ``4h``, ``2d``, ``1w``,
``1h30m``); texts and keys have the lengths of the columns they are stored in;
every policy model is immutable and names the allowed keys when it meets an
unknown one. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from core.limits import FREE_TEXT, TITLE

# --------------------------------------------------------------------------
# Durations written the way people write them: 15m, 4h, 2d, 1w, 1h30m.

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_DURATION_HELP = (
    "write a whole number followed by a unit -- m (minutes), h (hours), d (days), w (weeks) -- "
    "for example 15m, 4h, 90d, 1w or 1h30m"
)


def parse_duration(value: object) -> timedelta:
    """Parse a human-readable duration such as ``15m`` or ``1w`` into a timedelta."""
    if isinstance(value, timedelta):
        if value < timedelta(0) or value % timedelta(minutes=1):
            raise PydanticCustomError(
                "duration", "durations must be whole minutes and not negative: {help}", {"help": _DURATION_HELP}
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if text and match:
            weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
            return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    raise PydanticCustomError(
        "duration", "not a duration: {value}; {help}", {"value": repr(value), "help": _DURATION_HELP}
    )


def duration_notation(value: timedelta) -> str:
    """Write a timedelta back in the policy file notation (``72h``, ``2w``, ``90d``, ``1h30m``)."""
    minutes_total = int(value.total_seconds() // 60)
    days, rest = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    # Under a week people think in hours (24h, 72h); beyond, in weeks or days.
    if days >= 7:
        parts.append(f"{days // 7}w" if days % 7 == 0 else f"{days}d")
    else:
        hours += days * 24
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    return "".join(parts) or "0m"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(duration_notation, return_type=str, when_used="json"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FREE_TEXT.max_chars)]
# A policy's title, source and review titles are stored in columns of 200 characters (core.limits.TITLE).
TitleText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE.max_chars)]
# Names and keys are stored in columns of 64 characters.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=64)]


class PolicyModel(BaseModel):
    """Base of every policy model: immutable, and unknown keys are errors naming the allowed ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in allowed:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'; allowed keys: {allowed}",
                        {"key": str(key), "allowed": ", ".join(allowed), "at": [str(key)]},
                    )
        return data


def policy_error(message: str, at: list[Any] | None = None) -> PydanticCustomError:
    """A validation error whose message is `message`, located at `at` inside the value being checked."""
    return PydanticCustomError("policy", "{message}", {"message": message, "at": at or []})

