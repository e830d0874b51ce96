"""The emergency board's incident card: severity, customer, title, owner, most urgent clock, what is overdue.

Renders one row of `core.incident.queues.BoardPage`; every decision (which
clock, what is overdue) is read from the row and the page's read model.
Nothing here queries or writes.
"""

from __future__ import annotations

import streamlit as st

from core.incident.queues import BoardPage
from core.incident.service import IncidentRow
from core.sla.clocks import clock_label
from core.text import markdown_literal
from ui.followers import DRILL_BADGE
from ui.format import time_left
from ui.links import incident_link


def card(row: IncidentRow, board: BoardPage) -> None:
    """One incident card of the board; its number opens the incident in this tab."""
    now = board.now
    overdue = row.next_deadline_at is not None and row.next_deadline_at < now
    with st.container(border=True):
        incident_link(row.id, f"**#{row.id} · {row.severity}**")
        if row.is_drill:
            st.markdown(DRILL_BADGE)
        if row.outage_id:
            st.caption(f"outage #{row.outage_id}")  # one of many accounts hit by the same platform outage
        st.markdown((":red-background[RED] " if row.red_status else "") + markdown_literal(row.account))
        st.markdown(markdown_literal(row.title))
        clock = "no clock running"
        if row.next_deadline_at is not None:
            label = clock_label(row.next_deadline_clock or "")
            clock = f"{label}: {time_left(row.next_deadline_at, now)}"
        st.markdown(f"@{markdown_literal(row.owner or 'unassigned')}  \n"
                    + (f":red[**{clock}**]" if overdue else clock))
        if row.escalation_overdue(now):
            st.markdown(":red-background[**Escalation overdue**]")
        due = board.update_due.get(row.id)
        if due is not None:
            st.markdown(":red-background[**Client update overdue**] " + time_left(due, now) if due < now
                        else f"Client update {time_left(due, now)}")


def cards(rows: tuple[IncidentRow, ...], board: BoardPage, columns: int = 4) -> None:
    """Rows as cards, filling `columns` columns left to right."""
    lane = st.columns(columns)
    for index, row in enumerate(rows):
        with lane[index % columns]:
            card(row, board)
