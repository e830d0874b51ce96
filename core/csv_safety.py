"""CSV files that are safe to open in a spreadsheet: every CSV the app writes goes through here.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, tab or carriage return) as a formula, so a customer name
such as ``=HYPERLINK(...)`` typed into the app would run on the reader's
machine. Following OWASP's rule, such a text cell is written with a leading
``'``, which spreadsheets show as text; numbers stay numbers (-5 is not a
formula). Imports use `looks_like_formula` to warn about such cells. This
module never imports streamlit or pandas and never changes a value it stores:
it only shapes what is written out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could take this text as a formula."""
    return text.startswith(FORMULA_STARTS)


def neutralise_cell(value: Any) -> Any:
    """The value as a CSV cell: text that starts like a formula gets a leading ', anything else is unchanged."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def _blank(value: Any) -> bool:
    if value is None:
        return True
    try:
        # NaN and NaT are not equal to themselves; core never imports pandas to ask it.
        return bool(value != value)  # noqa: PLR0124 -- the self-comparison is the test
    except TypeError:  # pandas' NA refuses to be a boolean: it is a missing value too
        return True


def to_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A UTF-8 CSV file of `header` and `rows`, every text cell neutralised, missing values left empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise_cell(str(name)) for name in header])
    for row in rows:
        writer.writerow(["" if _blank(value) else neutralise_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")
