"""The incident list's table: one row per incident with its most urgent clock and client update; a row opens it;
and the list's link with filters (`?status=new,reopened&severity=P2,P3`), which the board's "N more" uses.

Renders rows read by `core.incident.views.incidents_page`; no query here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.incident.views import IncidentsPage
from core.sla.clocks import clock_label
from core.vocabulary import OPEN_STATUSES, SEVERITIES, STATUS_LABELS, IncidentStatus
from ui.followers import drill_title
from ui.format import local_time, time_left
from ui.links import opening_table, page_link


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


# The filters a link to the list may set, by query parameter: the widget key each seeds and the values it takes.
_LINK_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("f_status", tuple(s.value for s in IncidentStatus)),
    "severity": ("f_severity", SEVERITIES),
}
# Every widget key of the list's filters, sort and page (pages/incidents.py).
_LIST_KEYS = frozenset({"f_status", "f_severity", "f_account", "f_owner", "f_policy", "f_urgency", "f_dates",
                        "f_sort", "f_text", "f_page"})


def list_link(label: str, *, statuses: tuple[str, ...], severities: tuple[str, ...] = (),
              icon: str | None = None) -> None:
    """A same-tab link to the incident list showing these statuses and severities, most urgent first."""
    query = {name: ",".join(values) for name, values in (("status", statuses), ("severity", severities)) if values}
    page_link("incidents", label, query=query, icon=icon)


def filters_from_link() -> None:
    """Set the list's filters from a link's `?status=...&severity=...` once, then drop them from the address.

    Unknown values (the address is typed by anyone) are ignored. Without a link, the status filter starts
    on the open statuses. A link starts on the first page, sorted by urgency.
    """
    params = st.query_params
    linked = {name: [v for v in params.get(name, "").split(",") if v in allowed]
              for name, (_, allowed) in _LINK_FILTERS.items() if name in params}
    if linked:
        # The list then shows what the link counted: no filter, sort or page left from an earlier visit.
        for key in [k for k in st.session_state if str(k) in _LIST_KEYS]:
            del st.session_state[key]
    for name, values in linked.items():
        st.session_state[_LINK_FILTERS[name][0]] = values
        del params[name]
    st.session_state.setdefault("f_status", [s.value for s in IncidentStatus if s in OPEN_STATUSES])
