"""The dashboard's read model: small frames built from core.sla.queries, cached per data version.

The cache key holds the filter, the minute (open clocks turn breached as time
passes) and `sla_summary.data_version`, which changes with every incident
write, so a cached result is never shown after a change. Only the page layer
caches; core stays free of streamlit. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.alerts.views import AcknowledgeTimes, acknowledge_times
from core.outage.service import EmergencyCount, emergency_count
from core.policy.loading import cached_policy
from core.policy.schema import Policy
from core.sla import metrics
from core.sla import queries as sla_summary
from core.sla.clocks import clock_label
from core.sla.queries import DashboardFilter
from core.vocabulary import SEVERITIES
from db.engine import read_scope
from ui.format import local_time

GROUP_LABELS = {"severity": "Severity", "tier": "Tier", "csm_id": "CSM", "policy_name": "Policy",
                "week": "Week", "account_id": "Account"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
STAMP = "%Y-%m-%d %H:%M"


@dataclass
class DashboardData:
    """Every frame the dashboard draws."""

    incidents: int
    repeats: int
    overall: metrics.Attainment
    attainment: pd.DataFrame
    targets: pd.DataFrame
    breakdown: pd.DataFrame
    trend: pd.DataFrame
    heat: pd.DataFrame
    accounts: pd.DataFrame
    emergency: pd.DataFrame
    objectives: pd.DataFrame
    breaches: pd.DataFrame
    emergency_limit: float | None
    acknowledge: AcknowledgeTimes


def data_version() -> tuple:
    """What changes whenever an incident is written."""
    with read_scope() as session:
        return sla_summary.data_version(session)


def open_emergencies(flt: DashboardFilter) -> EmergencyCount:
    """Open emergencies now for the filter's accounts, each platform outage counted once (one small query, not
    cached: linking an incident to an outage does not change the summary's data version)."""
    with read_scope() as session:
        return emergency_count(session, csm_ids=flt.csm_ids, account_id=flt.account_id, severities=flt.severities)


def _pct(counts: metrics.Attainment) -> float | None:
    return None if counts.pct is None else round(counts.pct, 1)


def _attainment_frame(rows: dict, names: dict, group: str) -> pd.DataFrame:
    records = []
    for (clock, key), counts in sorted(rows.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        label = names.get(key, key) if group in ("csm_id", "account_id") else key
        records.append({"Clock": clock_label(clock), GROUP_LABELS[group]: str(label),
                        "Met": counts.met, "Breached": counts.breached, "Running": counts.running,
                        "Paused": counts.paused, "Attainment %": _pct(counts)})
    return pd.DataFrame(records)


def _target_frame(policies: dict[str, Policy]) -> pd.DataFrame:
    records = []
    for name, policy in policies.items():
        for objective in policy.objectives:
            if objective.clock in metrics.TRACKED_CLOCKS and objective.unit == "percent" and objective.value:
                for severity in objective.severities or SEVERITIES:
                    records.append({"Clock": clock_label(objective.clock), "Severity": severity,
                                    "Target %": objective.value, "Objective": objective.title, "Policy": name})
    return pd.DataFrame(records)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def load(flt: DashboardFilter, now: dt.datetime, version: tuple, group: str, people: int,
         hours_per_week: float, policies: dict[str, str], names: dict[int, str], zone: str) -> DashboardData:
    """Query the summary for one filter, times in `zone` (the reader's); `version` and `now` (to the minute) are the
    cache key's freshness."""
    del version  # only part of the cache key
    # Saved versions may predate a rule (roles): read them back as stored, as the policy store does.
    parsed = {name: cached_policy(text, name, stored=True) for name, text in policies.items()}
    with read_scope() as session:
        incidents, repeats = sla_summary.incident_totals(session, flt)
        by_sev = sla_summary.attainment(session, flt, now=now, by=("clock", "severity"))
        by_group = sla_summary.attainment(session, flt, now=now, by=("clock", group))
        trend = sla_summary.duration_histograms(session, flt, by=("week", "clock"))
        heat = sla_summary.breach_heat(session, flt, now=now, time_zone=zone)
        accounts = sla_summary.incidents_per_account(session, flt)
        emergency = sla_summary.emergency_by_week(session, flt, now=now)
        objectives = sla_summary.objective_results(session, flt, now=now, policies=parsed, people=people,
                                                   hours_per_week=hours_per_week)
        breaches = sla_summary.recent_breaches(session, flt, now=now)
        acknowledge = acknowledge_times(session, flt)
    overall = sum(by_sev.values(), metrics.Attainment())
    trend_rows = []
    for (week, clock), hist in sorted(trend.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if sum(hist):
            trend_rows.append({"Week": sla_summary.as_date(week), "Measure": metrics.DURATION_METRICS[clock],
                               "Median h": metrics.percentile_from_histogram(hist, 0.5) / 3600,
                               "P90 h": metrics.percentile_from_histogram(hist, 0.9) / 3600, "Clocks": sum(hist)})
    capacity = people * hours_per_week * 3600
    in_scope = {n: p for n, p in parsed.items() if not flt.policies or n in flt.policies}
    return DashboardData(
        emergency_limit=metrics.emergency_limit(in_scope.values()), acknowledge=acknowledge,
        incidents=incidents, repeats=repeats, overall=overall,
        attainment=_attainment_frame(by_sev, names, "severity"),
        targets=_target_frame(in_scope),
        breakdown=_attainment_frame(by_group, names, group),
        trend=pd.DataFrame(trend_rows, columns=["Week", "Measure", "Median h", "P90 h", "Clocks"]),
        heat=pd.DataFrame([{"Weekday": WEEKDAYS[d], "Hour": h, "Breaches": n} for (d, h), n in sorted(heat.items())],
                          columns=["Weekday", "Hour", "Breaches"]),
        accounts=pd.DataFrame([{"Account": a.name, "Tier": a.tier, "Incidents": a.incidents,
                                "First incidents": a.incidents - a.repeats, "Repeats": a.repeats}
                               for a in accounts],
                              columns=["Account", "Tier", "Incidents", "First incidents", "Repeats"]),
        emergency=pd.DataFrame([{"Week": sla_summary.as_date(w), "Hours": s / 3600,
                                 "Share %": 100 * s / capacity if capacity else None}
                                for w, s in sorted(emergency.items())], columns=["Week", "Hours", "Share %"]),
        objectives=pd.DataFrame([{"Policy": r.policy, "Objective": r.title, "Target": r.target,
                                  "Actual": _objective_value(r), "Threshold": r.threshold if r.unit != "seconds"
                                  else r.threshold / 3600, "Result": r.verdict, "Measured as": r.basis}
                                 for r in objectives],
                                columns=["Policy", "Objective", "Target", "Actual", "Threshold", "Result",
                                         "Measured as"]),
        breaches=pd.DataFrame([{"ID": b.incident_id, "Title": b.title,
                                "Customer": b.account, "Severity": b.severity, "Policy": b.policy_name,
                                "Clock": clock_label(b.clock),
                                "Detected": local_time(b.detected_at, zone, STAMP),
                                "Deadline": local_time(b.deadline, zone, STAMP),
                                "Stopped": local_time(b.stopped_at, zone, STAMP) if b.stopped_at else "still open",
                                "Target h": round(b.target_seconds / 3600, 2),
                                "Actual h": None if b.actual_seconds is None else round(b.actual_seconds / 3600, 2)}
                               for b in breaches]),
    )


def _objective_value(result: metrics.ObjectiveResult) -> float | None:
    if result.actual is None:
        return None
    return round(result.actual / 3600, 2) if result.unit == "seconds" else round(result.actual, 1)
