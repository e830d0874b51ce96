"""The emergency board's incident card: severity, customer, title, owner, most urgent clock, what is overdue;
and the table that lists the emergency lane beyond its cards.

Renders rows of `core.incident.queues.BoardPage`; every decision (which
clock, what is overdue) is read from the row and the page's read model.
Nothing here queries or writes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.incident.queues import BoardPage
from core.incident.service import IncidentRow
from core.sla.clocks import clock_label
from core.text import markdown_literal
from core.vocabulary import STATUS_LABELS, IncidentStatus
from ui.followers import DRILL_BADGE, drill_title
from ui.format import local_time, time_left
from ui.links import incident_link, opening_table


def card(row: IncidentRow, board: BoardPage) -> None:
    """One incident card of the board; its number opens the incident in this tab."""
    now = board.now
    overdue = row.next_deadline_at is not None and row.next_deadline_at < now
    with st.container(border=True):
        incident_link(row.id, f"**#{row.id} · {row.severity}**")
        if row.outage_id:
            st.caption(f"outage #{row.outage_id}")  # one of many accounts hit by the same platform outage
        # One Markdown element for the rest of the card: each element costs its own share of a render.
        lines = [DRILL_BADGE] if row.is_drill else []
        lines.append((":red-background[RED] " if row.red_status else "") + markdown_literal(row.account))
        lines.append(markdown_literal(row.title))
        clock = "no clock running"
        if row.next_deadline_at is not None:
            label = clock_label(row.next_deadline_clock or "")
            clock = f"{label}: {time_left(row.next_deadline_at, now)}"
        lines.append(f"@{markdown_literal(row.owner or 'unassigned')}")
        lines.append(f":red[**{clock}**]" if overdue else clock)
        if row.escalation_overdue(now):
            lines.append(":red-background[**Escalation overdue**]")
        due = board.update_due.get(row.id)
        if due is not None:
            lines.append(":red-background[**Client update overdue**] " + time_left(due, now) if due < now
                         else f"Client update {time_left(due, now)}")
        st.markdown("  \n".join(lines))


def cards(rows: tuple[IncidentRow, ...], board: BoardPage, columns: int = 4) -> None:
    """Rows as cards, filling `columns` columns left to right."""
    lane = st.columns(columns)
    for index, row in enumerate(rows):
        with lane[index % columns]:
            card(row, board)


def lane_table(rows: tuple[IncidentRow, ...], board: BoardPage, time_zone: str) -> None:
    """The lane's incidents beyond its cards, most urgent first, in one table whose rows open the incident."""
    if not rows:
        return
    now = board.now
    table = pd.DataFrame([{
        "ID": r.id, "Severity": r.severity + (" RED" if r.red_status else ""),
        "Customer": r.account, "Title": drill_title(r.title, r.is_drill),
        "Status": STATUS_LABELS[IncidentStatus(r.status)],
        "Owner": r.owner or "unassigned", "Detected": local_time(r.detected_at, time_zone),
        "Most urgent clock": (f"{clock_label(r.next_deadline_clock or '')}: {time_left(r.next_deadline_at, now)}"
                              if r.next_deadline_at is not None else "no clock running"),
        "Overdue": bool(r.next_deadline_at and r.next_deadline_at < now),
        "Escalation overdue": r.escalation_overdue(now),
        "Client update overdue": board.update_overdue(r.id),
    } for r in rows])
    st.caption(f"{len(rows)} more in the emergency lane, most urgent first:")
    opening_table(table, [r.id for r in rows], key="board_lane_rest", column_config={
        "Overdue": st.column_config.CheckboxColumn("Overdue"),
        "Escalation overdue": st.column_config.CheckboxColumn("Escalation overdue"),
        "Client update overdue": st.column_config.CheckboxColumn("Client update overdue")})
