"""The one table of text limits: how long each kind of field may be and which characters it refuses.

Every write function in core checks the text it stores against this table
(incident titles, names, email addresses, notes, reasons, report sections...),
and the forms show the same numbers with ``max_chars``, so what the browser
lets a person type is what core accepts. A single-line field refuses CR and
LF (they break lists, CSV exports and email headers); every field refuses NUL,
which SQLite stores but PostgreSQL rejects. This module never imports
streamlit, never touches the database and never reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator


@dataclass(frozen=True)
class TextLimit:
    """A kind of text field: its longest length in characters and whether it must stay on one line."""

    kind: str
    max_chars: int
    single_line: bool


TITLE = TextLimit("title", 200, single_line=True)
NAME = TextLimit("name", 120, single_line=True)
EMAIL = TextLimit("email address", 254, single_line=True)
FREE_TEXT = TextLimit("free text", 10_000, single_line=False)
# A contract's response commitment or service-credit clause: a sentence or two, quoted in reports.
CONTRACT_TERM = TextLimit("contract term", 500, single_line=False)

LIMITS: tuple[TextLimit, ...] = (TITLE, NAME, EMAIL, FREE_TEXT, CONTRACT_TERM)


def text_problem(value: str, limit: TextLimit) -> str | None:
    """What is wrong with `value` for a field of this kind (a phrase after the field's name), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\0): remove it"
    if limit.single_line and ("\n" in value or "\r" in value):
        return "must be on one line: remove the line breaks"
    if len(value) > limit.max_chars:
        return f"is {len(value):,} characters long; the limit is {limit.max_chars:,}"
    return None


def check_text(value: str, limit: TextLimit, field: str, error: type[ValueError] = ValueError) -> str:
    """Return `value` without surrounding spaces, or raise `error` saying which field breaks which limit."""
    cleaned = value.strip()
    problem = text_problem(cleaned, limit)
    if problem:
        raise error(f"{field} {problem}.")
    return cleaned


def _validator(limit: TextLimit) -> Any:
    def check(value: str) -> str:
        problem = text_problem(value, limit)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


# The same limits as pydantic field types, for input models (strip first, then check).
TitleText = Annotated[str, _validator(TITLE)]
NameText = Annotated[str, _validator(NAME)]
EmailText = Annotated[str, _validator(EMAIL)]
FreeText = Annotated[str, _validator(FREE_TEXT)]
ContractTermText = Annotated[str, _validator(CONTRACT_TERM)]
