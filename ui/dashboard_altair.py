"""The SLA dashboard's charts as Altair charts: every encoding, title and scale, defined once.

Each function takes the chart's data (the frame `ui.dashboard_charts` prepared, or a named
data source) and its few parameters, and returns the Altair chart. Every field states its
type (N, O, Q, T), so a chart built without its data is the same chart: `ui.dashboard_charts`
turns each into a Vega-Lite spec once per process and sends only the data on each render,
and builds the whole Altair chart again only for a PNG download. Imported only where a chart
is built (a spec's first use, a PNG, the backtest, the tests): importing Altair is a large
part of a fresh process's first render. Nothing here queries or computes a figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt

from core.vocabulary import EMERGENCY_SEVERITIES, SEVERITIES

EMERGENCY = "/".join(EMERGENCY_SEVERITIES)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PASS_COLORS = alt.Scale(domain=["pass", "fail", "no data"], range=["#2e7d32", "#c62828", "#9e9e9e"])


def attainment_chart(data: Any) -> alt.FacetChart:
    """Attainment % per clock and severity, with the policies' objective values as target ticks.

    `data` holds both layers' rows, told apart by their Layer column (ui.dashboard_charts.attainment_data).
    """
    # One dataset for both layers: a faceted layer filters only the data it owns,
    # so layers carrying their own data would repeat every clock in every panel.
    base = alt.Chart().encode(x=alt.X("Severity:N", title=None, sort=list(SEVERITIES)))
    bars = base.mark_bar().encode(
        y=alt.Y("Attainment %:Q", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("Severity:N", legend=None),
        tooltip=["Clock:N", "Severity:N", "Met:Q", "Breached:Q", "Running:Q", "Paused:Q",
                 alt.Tooltip("Attainment %:Q", format=".1f")],
    ).transform_filter(alt.datum.Layer == "attainment")
    ticks = base.mark_tick(color="black", thickness=2, size=18).encode(
        y="Target %:Q", tooltip=["Objective:N", "Policy:N", "Target %:Q"],
    ).transform_filter(alt.datum.Layer == "objective")
    return alt.layer(bars, ticks, data=data).properties(width=95, height=220).facet(
        column=alt.Column("Clock:N", title=None, header=alt.Header(labelLimit=95, labelFontSize=11)),
    ).properties(title="Attainment by clock and severity (black tick: policy objective)")


def trend_chart(data: Any) -> alt.Chart:
    """Weekly median and 90th percentile of the time-to-milestone figures, in hours (one row per statistic)."""
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("Week:T"), y=alt.Y("Hours:Q", scale=alt.Scale(type="symlog")),
        color="Measure:N", strokeDash="Statistic:N",
        tooltip=["Week:T", "Measure:N", "Statistic:N", alt.Tooltip("Hours:Q", format=".2f")],
    ).properties(title="Weekly time to acknowledge, notify, mobilise and resolve (hours, log scale)")


def heat_chart(data: Any, time_zone: str) -> alt.Chart:
    """Breached clocks by weekday and hour of detection, on the clocks of `time_zone` (the reader's)."""
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("Hour:O", title=f"Hour of detection ({time_zone})"),
        y=alt.Y("Weekday:N", sort=WEEKDAYS, title=f"Weekday ({time_zone})"),
        color=alt.Color("Breaches:Q", scale=alt.Scale(scheme="reds")),
        tooltip=["Weekday:N", "Hour:Q", "Breaches:Q"],
    ).properties(title=f"Breaches by weekday and hour of detection, {time_zone}")


def accounts_chart(data: Any) -> alt.Chart:
    """Incidents per account, split into first incidents and repeats (one row per account and kind)."""
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("Account:N", sort="-x", title=None), x=alt.X("sum(Count):Q", title="Incidents"),
        color=alt.Color("Kind:N", scale=alt.Scale(domain=["First incidents", "Repeats"],
                                                  range=["#90a4ae", "#e65100"])),
        tooltip=["Account:N", "Kind:N", "Count:Q"],
    ).properties(title="Incidents per account (repeats highlighted)")


def emergency_chart(data: Any, limit: float | None) -> alt.Chart | alt.LayerChart:
    """Weekly share of capacity spent on emergency work against the policy's buffer line (when one is set)."""
    over = alt.datum["Share %"] > (limit if limit is not None else 100)
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("Week:T"), y=alt.Y("Share %:Q"),
        color=alt.condition(over, alt.value("#c62828"), alt.value("#1565c0")),
        tooltip=["Week:T", alt.Tooltip("Hours:Q", format=".1f"), alt.Tooltip("Share %:Q", format=".1f")])
    if limit is None:
        return bars.properties(title=f"Emergency work ({EMERGENCY}) as a share of capacity")
    rule = alt.Chart(alt.InlineData(values=[{"Buffer %": limit}])).mark_rule(color="black", strokeDash=[4, 4]).encode(
        y="Buffer %:Q")
    return (bars + rule).properties(
        title=f"Emergency work ({EMERGENCY}) as a share of capacity; line: {limit:g} % buffer")


def objectives_chart(data: Any) -> alt.LayerChart:
    """Measured percent objectives against their thresholds, coloured pass / fail."""
    bars = alt.Chart().mark_bar().encode(
        y=alt.Y("Objective:N", title=None), x=alt.X("Actual:Q", title="%"),
        color=alt.Color("Result:N", scale=PASS_COLORS),
        tooltip=["Policy:N", "Objective:N", "Target:N", "Actual:Q", "Result:N"])
    ticks = alt.Chart().mark_tick(color="black", thickness=2).encode(y="Objective:N", x="Threshold:Q")
    return alt.layer(bars, ticks, data=data).properties(title="Policy objectives (black tick: the threshold)")


CHARTS = {"attainment": attainment_chart, "trend": trend_chart, "heat": heat_chart, "accounts": accounts_chart,
          "emergency": emergency_chart, "objectives": objectives_chart}


def chart(name: str, data: Any, *params: Any) -> alt.TopLevelMixin:
    """The chart called `name` (a key of CHARTS) over `data` with its parameters."""
    return CHARTS[name](data, *params)


def template(name: str, *params: Any) -> dict[str, Any]:
    """The Vega-Lite spec of chart `name` reading its rows from the dataset called `name`, as Altair writes it."""
    spec = chart(name, alt.NamedData(name=name), *params).to_dict()
    # Altair's default theme adds only a view size, which Streamlit's own charts leave out (it draws
    # Altair charts under the 'none' theme); these charts set no config of their own.
    spec.pop("config", None)
    # Values kept in the spec (the buffer line) get a name of their own instead of a hash of the values,
    # so a stored template can be filled in for another value.
    text = json.dumps(spec, sort_keys=True)
    for i, hashed in enumerate(sorted(k for k in spec.get("datasets", {}) if k != name)):
        text = text.replace(json.dumps(hashed), json.dumps(f"{name}-values-{i}"))
    return dict(json.loads(text))


# The stored templates: each chart's spec for placeholder parameters, filled in by ui.dashboard_charts.
SPEC_FILE = Path(__file__).with_name("dashboard_specs.json")
ZONE = "{time_zone}"
BUFFER = 12345.5  # a buffer no policy sets, written alike by repr() and by :g
STORED = {"attainment": (), "trend": (), "heat": (ZONE,), "accounts": (), "emergency": (None,),
          "emergency_buffer": (BUFFER,), "objectives": ()}


def stored_templates() -> str:
    """The text of SPEC_FILE as Altair makes it today."""
    specs = {key: template(key.removesuffix("_buffer"), *params) for key, params in STORED.items()}
    return json.dumps(specs, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m ui.dashboard_altair: write the stored templates again
    SPEC_FILE.write_text(stored_templates(), encoding="utf-8")
