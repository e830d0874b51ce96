"""The incident list's table: one row per incident with its most urgent clock and client update; a row opens it.

Renders rows read by `core.incident.views.incidents_page`; no query here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.incident.views import IncidentsPage
from core.sla.clocks import clock_label
from core.vocabulary import STATUS_LABELS, IncidentStatus
from ui.followers import drill_title
from ui.format import local_time, time_left
from ui.links import opening_table


def _clock(clock: str | None, deadline: dt.datetime | None, now: dt.datetime) -> str:
    if deadline is None:
        return "—"
    return f"{clock_label(clock or '')}: {time_left(deadline, now)}"


def incident_table(page: IncidentsPage, time_zone: str, now: dt.datetime) -> None:
    """The page's incidents as a table whose rows open the incident in this tab, or a note when none matches."""
    due = page.update_due
    table = pd.DataFrame([{
        "ID": r.id, "Severity": r.severity + (" RED" if r.red_status else ""),
        "Customer": f"{r.account} ({r.tier})", "Title": drill_title(r.title, r.is_drill),
        "Outage": f"outage #{r.outage_id}" if r.outage_id else "",
        "Status": STATUS_LABELS[IncidentStatus(r.status)],
        "Owner": r.owner or "unassigned", "Detected": local_time(r.detected_at, time_zone),
        "Most urgent clock": _clock(r.next_deadline_clock, r.next_deadline_at, now),
        "Overdue": bool(r.next_deadline_at and r.next_deadline_at < now),
        "Escalation overdue": r.escalation_overdue(now),
        "Client update": time_left(due.get(r.id), now),
        "Client update overdue": bool((when := due.get(r.id)) and when < now),
    } for r in page.rows])
    if table.empty:
        st.info("No incident matches these filters.")
        return
    opening_table(table, [r.id for r in page.rows], key="incident_list_table", column_config={
        "Overdue": st.column_config.CheckboxColumn("Overdue"),
        "Escalation overdue": st.column_config.CheckboxColumn("Escalation overdue"),
        "Client update overdue": st.column_config.CheckboxColumn("Client update overdue")})
