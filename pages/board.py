"""Emergency board: open incidents as cards by status, with an emergency lane for P0 and P1."""

import streamlit as st

from core.incident.queues import board_page
from core.vocabulary import EMERGENCY_SEVERITIES, STATUS_LABELS, IncidentStatus
from ui.auth import utcnow
from ui.board_cards import card, cards
from ui.page import page_setup

user = page_setup("board", "Emergency board", ":material/view_kanban:")

st.title("Emergency board")
board = board_page(now=utcnow())
st.caption(f"{len(board.rows)} open · {len(board.emergencies)} in the emergency lane · "
           f"{board.clocks_overdue} with an overdue clock · "
           f"{board.escalations_overdue} with an overdue escalation · "
           f"{board.updates_overdue} with an overdue client update")

emergency = " / ".join(EMERGENCY_SEVERITIES)
st.subheader(f"🚨 Emergency lane ({emergency})")
if board.emergencies:
    cards(board.emergencies, board)
else:
    st.success(f"No {' or '.join(EMERGENCY_SEVERITIES)} incident is open.")

st.subheader("Everything else by status")
columns = st.columns(len(board.columns))
for column, (status, rows) in zip(columns, board.columns.items(), strict=True):
    with column:
        st.markdown(f"**{STATUS_LABELS[IncidentStatus(status)]}** ({len(rows)})")
        for row in rows:
            card(row, board)
