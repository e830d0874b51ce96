"""CSV cells that a spreadsheet could run as formulas are written as text (OWASP's rule)."""

import csv
import io
import math
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from core.csv_safety import looks_like_formula, neutralise_cell, to_csv

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "value, written",
    [
        ("=HYPERLINK(\"http://x.example\",\"click\")", "'=HYPERLINK(\"http://x.example\",\"click\")"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Acme Corp", "Acme Corp"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (-2.5, -2.5),
        (Decimal("-1.50"), Decimal("-1.50")),
        (None, None),
        (True, True),
    ],
)
def test_neutralise_cell(value, written):
    assert neutralise_cell(value) == written


def test_formula_starts_are_owasps():
    assert [c for c in "=+-@\t\rA1 '\"" if looks_like_formula(c)] == ["=", "+", "-", "@", "\t", "\r"]


def test_to_csv_neutralises_text_keeps_numbers_and_leaves_missing_values_empty():
    data = to_csv(["Account", "=Total", "Change"],
                  [["=cmd|'/C calc'!A0", 3, -5], ["Globex", math.nan, -0.5], ["@Initech", None, 2]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows == [
        ["Account", "'=Total", "Change"],
        ["'=cmd|'/C calc'!A0", "3", "-5"],
        ["Globex", "", "-0.5"],
        ["'@Initech", "", "2"],
    ]


def test_the_tables_own_csv_export_is_off():
    # Streamlit's table toolbar writes cells raw; only the neutralised downloads remain.
    config = tomllib.loads((ROOT / ".streamlit/config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
