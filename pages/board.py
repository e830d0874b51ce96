"""Emergency board: open incidents as cards by status, with an emergency lane for P0 and P1."""

from ui.page import page_setup

user = page_setup("board", "Emergency board", ":material/view_kanban:")

import streamlit as st  # noqa: E402

from core.communication.cadence import client_update_due  # noqa: E402
from core.incident import service as q  # noqa: E402
from core.sla.clocks import CLOCK_LABELS  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from core.vocabulary import STATUS_LABELS, IncidentStatus  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import time_left  # noqa: E402

st.title("Emergency board")
now = utcnow()
with read_scope() as session:
    rows = q.board(session, now=now)
    update_due = client_update_due(session, [r.id for r in rows])
emergencies, columns_by_status = q.board_lanes(rows)
st.caption(f"{len(rows)} open · {len(emergencies)} in the emergency lane · "
           f"{sum(1 for r in rows if r.next_deadline_at and r.next_deadline_at < now)} with an overdue clock · "
           f"{sum(1 for r in rows if r.escalation_overdue(now))} with an overdue escalation · "
           f"{sum(1 for r in rows if (update_due.get(r.id) or now) < now)} with an overdue client update")


def card(row) -> None:
    """One incident card: severity, customer, title, owner, most urgent clock."""
    overdue = row.next_deadline_at is not None and row.next_deadline_at < now
    with st.container(border=True):
        st.markdown(f"**[#{row.id}](/incident?id={row.id}) · {row.severity}**"
                    + (" :red-background[RED]" if row.red_status else "") + f"  \n{markdown_literal(row.account)}")
        st.markdown(markdown_literal(row.title))
        clock = (f"{CLOCK_LABELS.get(row.next_deadline_clock, row.next_deadline_clock)}: {time_left(row.next_deadline_at, now)}"
                 if row.next_deadline_at else "no clock running")
        st.markdown(f"@{markdown_literal(row.owner or 'unassigned')}  \n"
                    + (f":red[**{clock}**]" if overdue else clock))
        if row.escalation_overdue(now):
            st.markdown(":red-background[**Escalation overdue**]")
        due = update_due.get(row.id)
        if due is not None:
            st.markdown(":red-background[**Client update overdue**] " + time_left(due, now) if due < now
                        else f"Client update {time_left(due, now)}")


st.subheader("🚨 Emergency lane (P0 / P1)")
if emergencies:
    lane = st.columns(4)
    for index, row in enumerate(emergencies):
        with lane[index % 4]:
            card(row)
else:
    st.success("No P0 or P1 incident is open.")

st.subheader("Everything else by status")
columns = st.columns(len(columns_by_status))
for column, (status, cards) in zip(columns, columns_by_status.items(), strict=True):
    with column:
        st.markdown(f"**{STATUS_LABELS[IncidentStatus(status)]}** ({len(cards)})")
        for row in cards:
            card(row)
