"""The SLA dashboard's charts and tables as drawn, and their PNG and CSV downloads.

Each chart function takes the small frames `ui.dashboard_data` built and returns a
`ChartView`: the rows the chart draws and the name and parameters of its Altair chart
(`ui.dashboard_altair`). `show` sends the chart's Vega-Lite spec as Altair makes it (stored in
dashboard_specs.json, a test keeps it equal) with the rows as its named dataset: the same spec
and data Streamlit sends for the Altair chart, without building and validating the chart on
every render (that was half of the page's time) or importing Altair at all. Nothing here queries the database or
computes a metric (core.sla.metrics defines them). PNGs are rendered offline with
vl-convert only when someone clicks the download button.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from core import csv_safety
from core.alerts.views import AcknowledgeTimes
from ui.format import human_duration
from ui.links import opening_table

if TYPE_CHECKING:
    import altair as alt


@dataclass(frozen=True)
class ChartView:
    """One dashboard chart: its name in `ui.dashboard_altair.CHARTS`, the rows it draws, its parameters."""

    name: str
    data: pd.DataFrame
    params: tuple[Any, ...] = ()

    def spec(self) -> dict[str, Any]:
        """The Vega-Lite spec Streamlit is sent: Altair's, with the rows as its dataset."""
        spec = json.loads(_template(self.name, self.params))
        # Beside any values Altair kept in the spec itself (the emergency chart's buffer line).
        spec.setdefault("datasets", {})[self.name] = self.data
        return spec

    def altair(self) -> alt.TopLevelMixin:
        """The whole Altair chart with its rows (for a PNG)."""
        from ui import dashboard_altair  # noqa: PLC0415 -- Altair loads only when a chart is built

        return dashboard_altair.chart(self.name, self.data, *self.params)


@functools.cache
def _stored() -> dict[str, str]:
    # Altair's templates as JSON text (ui/dashboard_specs.json, tested equal to what Altair makes): a first
    # render never imports Altair, which took 1.3-2.5 s of a fresh process on this machine.
    specs = json.loads(Path(__file__).with_name("dashboard_specs.json").read_text(encoding="utf-8"))
    return {key: json.dumps(spec, sort_keys=True) for key, spec in specs.items()}


def _template(name: str, params: tuple[Any, ...]) -> str:
    """Chart `name`'s spec as JSON text for these parameters, from the stored templates (each render gets a
    fresh dict to fill: Streamlit edits the spec it is given)."""
    stored = _stored()
    if name == "heat":
        (zone,) = params
        return stored["heat"].replace("{time_zone}", json.dumps(zone)[1:-1])
    if name == "emergency" and params != (None,):
        (limit,) = params
        # The placeholder buffer 12345.5 appears as repr() in the bars' condition and the line's value, as :g in
        # the title (ui.dashboard_altair.BUFFER).
        return (stored["emergency_buffer"].replace("line: 12345.5 % buffer", f"line: {limit:g} % buffer")
                .replace("12345.5", json.dumps(limit)))
    return stored[name]


def attainment_data(frame: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """The attainment rows and the objective ticks in one frame, told apart by a Layer column."""
    return pd.concat([frame.assign(Layer="attainment"), targets.assign(Layer="objective")], ignore_index=True)


def attainment_chart(frame: pd.DataFrame, targets: pd.DataFrame) -> ChartView:
    """Attainment % per clock and severity, with the policies' objective values as target ticks."""
    return ChartView("attainment", attainment_data(frame, targets))


def trend_chart(frame: pd.DataFrame) -> ChartView:
    """Weekly median and 90th percentile of the time-to-milestone figures, in hours."""
    return ChartView("trend", frame.melt(id_vars=["Week", "Measure"], value_vars=["Median h", "P90 h"],
                                         var_name="Statistic", value_name="Hours"))


def heat_chart(frame: pd.DataFrame, time_zone: str) -> ChartView:
    """Breached clocks by weekday and hour of detection, on the clocks of `time_zone` (the reader's)."""
    return ChartView("heat", frame, (time_zone,))


def accounts_chart(frame: pd.DataFrame) -> ChartView:
    """Incidents per account, split into first incidents and repeats."""
    return ChartView("accounts", frame.melt(id_vars=["Account"], value_vars=["First incidents", "Repeats"],
                                            var_name="Kind", value_name="Count"))


def emergency_chart(frame: pd.DataFrame, limit: float | None) -> ChartView:
    """Weekly share of capacity spent on emergency work against the policy's buffer line (when one is set)."""
    return ChartView("emergency", frame, (limit,))


def objectives_chart(frame: pd.DataFrame) -> ChartView:
    """Measured percent objectives against their thresholds, coloured pass / fail."""
    return ChartView("objectives", frame[["Policy", "Objective", "Target", "Actual", "Threshold", "Result"]])


def show(chart: ChartView, key: str) -> None:
    """Draw a chart with a PNG download that renders only when clicked."""
    st.vega_lite_chart(spec=chart.spec(), width="stretch")
    st.download_button("PNG", data=lambda: png(chart.altair()), file_name=f"{key}.png", mime="image/png",
                       key=f"png_{key}", icon=":material/image:", on_click="ignore")


def show_altair(chart: alt.TopLevelMixin, key: str) -> None:
    """Draw an Altair chart built on this render (the backtest's), with its PNG download."""
    st.altair_chart(chart, width="stretch")
    st.download_button("PNG", data=lambda: png(chart), file_name=f"{key}.png", mime="image/png",
                       key=f"png_{key}", icon=":material/image:", on_click="ignore")


def png(chart: alt.TopLevelMixin) -> bytes:
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
