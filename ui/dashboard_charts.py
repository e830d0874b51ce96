"""Altair charts of the SLA dashboard, and their PNG and CSV downloads.

Each function takes the small frames `ui.dashboard_data` built and returns a
chart; nothing here queries the database or computes a metric (core.sla.metrics
defines them). PNGs are rendered offline with vl-convert only when someone
clicks the download button.
"""

from __future__ import annotations

import io

import altair as alt
import pandas as pd
import streamlit as st

from core import csv_safety
from core.alerts.views import AcknowledgeTimes
from core.vocabulary import EMERGENCY_SEVERITIES, SEVERITIES
from ui.format import human_duration
from ui.links import opening_table

EMERGENCY = "/".join(EMERGENCY_SEVERITIES)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
PASS_COLORS = alt.Scale(domain=["pass", "fail", "no data"], range=["#2e7d32", "#c62828", "#9e9e9e"])


def attainment_chart(frame: pd.DataFrame, targets: pd.DataFrame) -> alt.Chart:
    """Attainment % per clock and severity, with the policies' objective values as target ticks."""
    # One dataset for both layers: a faceted layer filters only the data it owns,
    # so layers carrying their own data would repeat every clock in every panel.
    data = pd.concat([frame.assign(Layer="attainment"), targets.assign(Layer="objective")], ignore_index=True)
    base = alt.Chart().encode(x=alt.X("Severity:N", title=None, sort=list(SEVERITIES)))
    bars = base.mark_bar().encode(
        y=alt.Y("Attainment %:Q", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("Severity:N", legend=None),
        tooltip=["Clock", "Severity", "Met", "Breached", "Running", "Paused",
                 alt.Tooltip("Attainment %:Q", format=".1f")],
    ).transform_filter(alt.datum.Layer == "attainment")
    ticks = base.mark_tick(color="black", thickness=2, size=18).encode(
        y="Target %:Q", tooltip=["Objective", "Policy", "Target %"],
    ).transform_filter(alt.datum.Layer == "objective")
    return alt.layer(bars, ticks, data=data).properties(width=95, height=220).facet(
        column=alt.Column("Clock:N", title=None, header=alt.Header(labelLimit=95, labelFontSize=11)),
    ).properties(title="Attainment by clock and severity (black tick: policy objective)")


def trend_chart(frame: pd.DataFrame) -> alt.Chart:
    """Weekly median and 90th percentile of the time-to-milestone figures, in hours."""
    long = frame.melt(id_vars=["Week", "Measure"], value_vars=["Median h", "P90 h"], var_name="Statistic",
                      value_name="Hours")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("Week:T"), y=alt.Y("Hours:Q", scale=alt.Scale(type="symlog")),
        color="Measure:N", strokeDash="Statistic:N",
        tooltip=["Week:T", "Measure", "Statistic", alt.Tooltip("Hours:Q", format=".2f")],
    ).properties(title="Weekly time to acknowledge, notify, mobilise and resolve (hours, log scale)")


def heat_chart(frame: pd.DataFrame, time_zone: str) -> alt.Chart:
    """Breached clocks by weekday and hour of detection, on the clocks of `time_zone` (the reader's)."""
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("Hour:O", title=f"Hour of detection ({time_zone})"),
        y=alt.Y("Weekday:N", sort=WEEKDAYS, title=f"Weekday ({time_zone})"),
        color=alt.Color("Breaches:Q", scale=alt.Scale(scheme="reds")),
        tooltip=["Weekday", "Hour", "Breaches"],
    ).properties(title=f"Breaches by weekday and hour of detection, {time_zone}")


def accounts_chart(frame: pd.DataFrame) -> alt.Chart:
    """Incidents per account, split into first incidents and repeats."""
    long = frame.melt(id_vars=["Account"], value_vars=["First incidents", "Repeats"], var_name="Kind",
                      value_name="Count")
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("Account:N", sort="-x", title=None), x=alt.X("sum(Count):Q", title="Incidents"),
        color=alt.Color("Kind:N", scale=alt.Scale(domain=["First incidents", "Repeats"],
                                                  range=["#90a4ae", "#e65100"])),
        tooltip=["Account", "Kind", "Count"],
    ).properties(title="Incidents per account (repeats highlighted)")


def emergency_chart(frame: pd.DataFrame, limit: float | None) -> alt.Chart:
    """Weekly share of capacity spent on emergency work against the policy's buffer line (when one is set)."""
    over = alt.datum["Share %"] > (limit if limit is not None else 100)
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("Week:T"), y=alt.Y("Share %:Q"),
        color=alt.condition(over, alt.value("#c62828"), alt.value("#1565c0")),
        tooltip=["Week:T", alt.Tooltip("Hours:Q", format=".1f"), alt.Tooltip("Share %:Q", format=".1f")])
    if limit is None:
        return bars.properties(title=f"Emergency work ({EMERGENCY}) as a share of capacity")
    rule = alt.Chart(pd.DataFrame({"Buffer %": [limit]})).mark_rule(color="black", strokeDash=[4, 4]).encode(
        y="Buffer %:Q")
    return (bars + rule).properties(
        title=f"Emergency work ({EMERGENCY}) as a share of capacity; line: {limit:g} % buffer")


def objectives_chart(frame: pd.DataFrame) -> alt.Chart:
    """Measured percent objectives against their thresholds, coloured pass / fail."""
    frame = frame[["Policy", "Objective", "Target", "Actual", "Threshold", "Result"]]
    bars = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("Objective:N", title=None), x=alt.X("Actual:Q", title="%"),
        color=alt.Color("Result:N", scale=PASS_COLORS), tooltip=["Policy", "Objective", "Target", "Actual", "Result"])
    ticks = alt.Chart(frame).mark_tick(color="black", thickness=2).encode(y="Objective:N", x="Threshold:Q")
    return (bars + ticks).properties(title="Policy objectives (black tick: the threshold)")


def show(chart: alt.Chart, key: str) -> None:
    """Draw a chart with a PNG download that renders only when clicked."""
    st.altair_chart(chart, width="stretch")
    st.download_button("PNG", data=lambda: png(chart), file_name=f"{key}.png", mime="image/png",
                       key=f"png_{key}", icon=":material/image:", on_click="ignore")


def png(chart: alt.Chart) -> bytes:
    """The chart as a PNG (vl-convert, offline)."""
    buffer = io.BytesIO()
    chart.save(buffer, format="png", scale_factor=2)
    return buffer.getvalue()


def csv_file(frame: pd.DataFrame) -> bytes:
    """The table as a CSV file that is safe to open in a spreadsheet (core.csv_safety)."""
    return csv_safety.to_csv(frame.columns, frame.itertuples(index=False, name=None))


def table(frame: pd.DataFrame, key: str, *, link: bool = False) -> None:
    """A table with a CSV download; with `link`, ticking a row opens the incident of its ID column in this tab."""
    if link:
        opening_table(frame, [int(i) for i in frame["ID"]], key=f"table_{key}")
    else:
        st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button("CSV", data=lambda: csv_file(frame), file_name=f"{key}.csv", mime="text/csv",
                       key=f"csv_{key}", icon=":material/download:", on_click="ignore")


def acknowledge_metrics(times: AcknowledgeTimes) -> None:
    """Time from an alert's delivery to its acknowledgement: how many, median and p90."""
    c1, c2, c3 = st.columns(3)
    c1.metric("Alerts acknowledged", f"{times.count:,}")
    c2.metric("Median time to acknowledge an alert",
              "—" if times.median_seconds is None else human_duration(int(times.median_seconds)))
    c3.metric("P90 time to acknowledge an alert",
              "—" if times.p90_seconds is None else human_duration(int(times.p90_seconds)),
              help="Nine in ten acknowledged alerts were acknowledged within this time of being sent.")
