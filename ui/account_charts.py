"""Small charts of account health: an account's sparklines (a plain Vega-Lite spec) and its trend panel.

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


def sparklines(series: list[list[Observation]], *, time_zone: str, width: int = 160,
               height: int = 36) -> dict[str, Any]:
    """Bare lines of one account's metrics over time, one under the other, each with its latest point marked:
    one Vega-Lite spec with one dataset.

    Written as the spec itself, not through Altair: the health page draws a page of these, and
    building and validating an Altair chart cost about 0.1 s each, most of the page's time. One chart
    per account rather than one per metric: each chart's data is converted to Arrow on its own
    (about 2 ms), and the page drew 30 of them.
    """
    local = zone_or_none(time_zone) or dt.UTC
    values = [{"line": line, "observed_at": o.observed_at.astimezone(local).replace(tzinfo=None).isoformat(),
               "value": o.value, "latest": n == len(readings) - 1}
              for line, readings in enumerate(series) for n, o in enumerate(readings)]
    x = {"field": "observed_at", "type": "temporal", "axis": None}
    y = {"field": "value", "type": "quantitative", "axis": None, "scale": {"zero": False}}
    tooltip = [{"field": "observed_at", "type": "temporal", "title": f"observed ({time_zone})", "format": STAMP},
               {"field": "value", "type": "quantitative"}]

    def one(line: int) -> dict[str, Any]:
        return {"width": width, "height": height, "transform": [{"filter": f"datum.line == {line}"}], "layer": [
            {"mark": {"type": "line", "strokeWidth": 1.5}, "encoding": {"x": x, "y": y, "tooltip": tooltip}},
            {"transform": [{"filter": "datum.latest"}], "mark": {"type": "point", "filled": True, "size": 30},
             "encoding": {"x": x, "y": y}},
        ]}

    return {"data": {"values": values}, "vconcat": [one(line) for line in range(len(series))], "spacing": 6,
            "resolve": {"scale": {"x": "independent", "y": "independent"}}}


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
