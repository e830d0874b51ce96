"""The dashboard's charts as sent: Altair's spec made once per process, with each render's rows as its dataset,
is the chart Streamlit would send for the whole Altair chart, and every declared field type is the one Altair
reads from the rows (so leaving the rows out of the template changes nothing)."""

from __future__ import annotations

import datetime as dt
import json

import altair as alt
import pandas as pd
import pytest
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from ui import dashboard_charts as charts

WEEKS = [dt.date(2026, 11, 2), dt.date(2026, 11, 9)]
ATTAINMENT = pd.DataFrame([
    {"Clock": "Acknowledge", "Severity": "P1", "Met": 8, "Breached": 2, "Running": 1, "Paused": 0,
     "Attainment %": 80.0},
    {"Clock": "Resolve", "Severity": "P2", "Met": 0, "Breached": 0, "Running": 3, "Paused": 1, "Attainment %": None}])
TARGETS = pd.DataFrame([{"Clock": "Acknowledge", "Severity": "P1", "Target %": 95, "Objective": "Fast", "Policy": "x"}])
TREND = pd.DataFrame([{"Week": w, "Measure": "Time to acknowledge", "Median h": 0.5, "P90 h": 2.25, "Clocks": 4}
                      for w in WEEKS])
HEAT = pd.DataFrame([{"Weekday": "Mon", "Hour": 9, "Breaches": 3}, {"Weekday": "Sun", "Hour": 23, "Breaches": 1}])
ACCOUNTS = pd.DataFrame([{"Account": "Acme", "Tier": "enterprise", "Incidents": 5, "First incidents": 3, "Repeats": 2}])
EMERGENCY = pd.DataFrame([{"Week": w, "Hours": 12.5, "Share %": 31.25} for w in WEEKS])
OBJECTIVES = pd.DataFrame([{"Policy": "x", "Objective": "Fast", "Target": ">= 95 %", "Actual": 80.0, "Threshold": 95.0,
                            "Result": "fail", "Measured as": "8 of 10"}])

VIEWS = {
    "attainment": lambda: charts.attainment_chart(ATTAINMENT, TARGETS),
    "attainment, no objective": lambda: charts.attainment_chart(ATTAINMENT, pd.DataFrame()),
    "trend": lambda: charts.trend_chart(TREND),
    "heat, Paris": lambda: charts.heat_chart(HEAT, "Europe/Paris"),
    "heat, Kolkata": lambda: charts.heat_chart(HEAT, "Asia/Kolkata"),
    "accounts": lambda: charts.accounts_chart(ACCOUNTS),
    "emergency, no buffer": lambda: charts.emergency_chart(EMERGENCY, None),
    "emergency, 20 % buffer": lambda: charts.emergency_chart(EMERGENCY, 20.0),
    "emergency, 7.5 % buffer": lambda: charts.emergency_chart(EMERGENCY, 7.5),
    "objectives": lambda: charts.objectives_chart(OBJECTIVES),
}


def _named(spec: dict, names: list[str]) -> str:
    """The spec as JSON with its datasets' names (Streamlit's are content hashes) in order of appearance."""
    text = json.dumps(spec, sort_keys=True)
    for i, name in enumerate(sorted(names, key=text.find)):
        text = text.replace(f'"{name}"', f'"dataset {i}"')
    return text


@pytest.mark.parametrize("case", VIEWS)
def test_the_spec_sent_is_streamlits_spec_of_the_altair_chart(case):
    view = VIEWS[case]()
    sent = view.spec()
    expected = _convert_altair_to_vega_lite_spec(view.altair())
    sent_data, expected_data = sent.pop("datasets"), expected.pop("datasets")
    assert _named(sent, list(sent_data)) == _named(expected, list(expected_data))
    # The rows as Streamlit sends them (Arrow), the very bytes it makes of the Altair chart's data.
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes

    def rows(value: object) -> bytes:
        if isinstance(value, bytes):  # Streamlit's Arrow of a frame
            return value
        return convert_anything_to_arrow_bytes(value) if isinstance(value, pd.DataFrame) else json.dumps(value).encode()

    assert sorted(map(rows, sent_data.values())) == sorted(map(rows, expected_data.values()))


# Declared unlike what Altair reads from the rows, on purpose (as before the types were spelled out).
DELIBERATE = {("heat", "Hour", "ordinal"), ("trend", "Week", "temporal"), ("emergency", "Week", "temporal")}


def _fields(node: object):
    if isinstance(node, dict):
        if "field" in node and "type" in node:
            yield node["field"], node["type"]
        for value in node.values():
            yield from _fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _fields(value)


@pytest.mark.parametrize("case", VIEWS)
def test_every_declared_type_is_the_one_altair_reads_from_the_rows(case):
    view = VIEWS[case]()
    spec = view.spec()
    fields = set(_fields({k: v for k, v in spec.items() if k != "datasets"}))
    assert fields, spec
    for field, declared in fields:
        if field not in view.data.columns:  # the buffer line's own value
            continue
        read = alt.utils.infer_vegalite_type_for_pandas(view.data[field])
        read = read[0] if isinstance(read, tuple) else read
        assert declared == read or (view.name, field, declared) in DELIBERATE, (field, declared, read)


def test_the_stored_templates_are_what_altair_makes_today():
    from ui import dashboard_altair

    assert dashboard_altair.SPEC_FILE.read_text(encoding="utf-8") == dashboard_altair.stored_templates(), (
        "run python -m ui.dashboard_altair to write ui/dashboard_specs.json again")


@pytest.mark.parametrize("name, params", [
    ("heat", ("UTC",)), ("heat", ("Asia/Kolkata",)), ("heat", ("America/Argentina/Buenos_Aires",)),
    ("emergency", (None,)), ("emergency", (20.0,)), ("emergency", (20,)), ("emergency", (7.5,)),
    ("emergency", (33.3,)), ("emergency", (100.0,)), ("emergency", (0.25,)),
    ("attainment", ()), ("trend", ()), ("accounts", ()), ("objectives", ()),
])
def test_a_filled_template_is_altairs_spec_for_those_parameters(name, params):
    from ui import dashboard_altair

    assert json.loads(charts._template(name, params)) == dashboard_altair.template(name, *params)


def test_drawing_the_charts_never_imports_altair():
    import subprocess
    import sys
    from pathlib import Path

    script = "\n".join([
        "import sys", "import pandas as pd", "from ui import dashboard_charts as c",
        "c.heat_chart(pd.DataFrame([{'Weekday': 'Mon', 'Hour': 9, 'Breaches': 3}]), 'UTC').spec()",
        "c.emergency_chart(pd.DataFrame([{'Week': '2026-11-02', 'Hours': 1.5, 'Share %': 3.0}]), 20.0).spec()",
        "c.objectives_chart(pd.DataFrame(columns=['Policy', 'Objective', 'Target', 'Actual', 'Threshold', "
        "'Result'])).spec()",
        "print('altair' in sys.modules)"])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr
