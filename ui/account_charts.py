"""Small charts of account health: a sparkline per metric (a plain Vega-Lite spec) and the account's trend panel.

Charts only: the readings come from core.account.signals, already bounded in time.
Times are shown in the reader's zone: each reading's time is turned into that
zone's wall-clock time without an offset, which the browser draws as written
(a time with an offset would be drawn in the browser's own zone, whatever the
person chose), and the tooltip names the zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from core.account.health import METRIC_LABELS, Observation
from core.zones import zone_or_none

STAMP = "%Y-%m-%d %H:%M"


def _frame(readings: list[Observation], time_zone: str) -> pd.DataFrame:
    local = zone_or_none(time_zone) or dt.UTC
    return pd.DataFrame([{"observed_at": o.observed_at.astimezone(local).replace(tzinfo=None), "value": o.value,
                          "metric": METRIC_LABELS.get(o.metric, o.metric), "target": o.target} for o in readings])


def sparkline(readings: list[Observation], *, time_zone: str, width: int = 160,
              height: int = 36) -> dict[str, Any]:
    """A bare line of one metric's readings over time, with the latest point marked: a Vega-Lite spec.

    Written as the spec itself, not through Altair: the health page draws a page of these, and
    building and validating an Altair chart cost about 0.1 s each, most of the page's time.
    """
    local = zone_or_none(time_zone) or dt.UTC
    values = [{"observed_at": o.observed_at.astimezone(local).replace(tzinfo=None).isoformat(), "value": o.value}
              for o in readings]
    x = {"field": "observed_at", "type": "temporal", "axis": None}
    y = {"field": "value", "type": "quantitative", "axis": None, "scale": {"zero": False}}
    tooltip = [{"field": "observed_at", "type": "temporal", "title": f"observed ({time_zone})", "format": STAMP},
               {"field": "value", "type": "quantitative"}]
    return {"width": width, "height": height, "data": {"values": values}, "layer": [
        {"mark": {"type": "line", "strokeWidth": 1.5}, "encoding": {"x": x, "y": y, "tooltip": tooltip}},
        {"data": {"values": values[-1:]}, "mark": {"type": "point", "filled": True, "size": 30},
         "encoding": {"x": x, "y": y}},
    ]}


def sparklines(series: list[list[Observation]], *, time_zone: str) -> dict[str, Any]:
    """One account's sparklines stacked in one Vega-Lite spec, each titled with its metric.

    One chart per account instead of one per metric: the health page's time went mostly to drawing
    charts (a page of 10 accounts drew up to 30), each with the same fixed cost.
    """
    rows = []
    for readings in series:
        label = METRIC_LABELS.get(readings[0].metric, readings[0].metric)
        rows.append({"title": {"text": label, "fontSize": 10, "anchor": "start", "fontWeight": "normal"},
                     **sparkline(readings, time_zone=time_zone)})
    return {"vconcat": rows, "spacing": 6}


def trend(readings: list[Observation], *, time_zone: str) -> dict[str, Any]:
    """One small line chart per metric (own scale each), targets dashed where a metric has them: a Vega-Lite spec.

    The spec Altair made for this chart, written out: building and validating it through Altair took
    about a fifth of the account page's render.
    """
    x = {"field": "observed_at", "type": "temporal"}
    tooltip = [{"field": "observed_at", "type": "temporal", "title": f"observed ({time_zone})", "format": STAMP},
               {"field": "value", "type": "quantitative"}, {"field": "target", "type": "quantitative"}]
    line = {"mark": {"type": "line", "point": True}, "encoding": {
        "x": {**x, "title": None},
        "y": {"field": "value", "type": "quantitative", "title": None, "scale": {"zero": False},
              "axis": {"format": "~g"}},
        "tooltip": tooltip}}
    target = {"mark": {"type": "line", "strokeDash": [4, 3], "color": "gray"},
              "encoding": {"x": x, "y": {"field": "target", "type": "quantitative"}}}
    return {"datasets": {"readings": _frame(readings, time_zone)}, "data": {"name": "readings"},
            "facet": {"field": "metric", "type": "nominal", "title": None}, "columns": 3,
            "spec": {"width": 260, "height": 110, "layer": [line, target]},
            "resolve": {"scale": {"y": "independent"}}}
