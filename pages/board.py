"""Emergency board: open incidents as cards by status, with an emergency lane for P0 and P1."""

import streamlit as st

from core.incident.queues import board_page
from core.incident.service import OTHER_SEVERITIES
from core.vocabulary import EMERGENCY_SEVERITIES, OPEN_STATUSES, STATUS_LABELS, IncidentStatus
from ui.auth import utcnow
from ui.board_cards import card, cards, lane_table
from ui.incident_list import list_link
from ui.page import page_setup

user = page_setup("board", "Emergency board", ":material/view_kanban:")

st.title("Emergency board")
board = board_page(now=utcnow())
counts = board.counts
st.caption(f"{counts.total} open · {counts.emergency} in the emergency lane · "
           f"{counts.clocks_overdue} with an overdue clock · "
           f"{counts.escalations_overdue} with an overdue escalation · "
           f"{counts.updates_overdue} with an overdue client update")

emergency = " / ".join(EMERGENCY_SEVERITIES)
st.subheader(f"🚨 Emergency lane ({emergency})")
if board.emergencies:
    cards(board.lane_cards, board)
    lane_table(board.lane_rest, board, user.time_zone)
    if counts.emergency > len(board.emergencies):
        list_link(f"All {counts.emergency} open {' and '.join(EMERGENCY_SEVERITIES)} incidents in the list",
                  statuses=tuple(s.value for s in IncidentStatus if s in OPEN_STATUSES),
                  severities=EMERGENCY_SEVERITIES, icon=":material/list_alt:")
else:
    st.success(f"No {' or '.join(EMERGENCY_SEVERITIES)} incident is open.")

st.subheader("Everything else by status")
columns = st.columns(len(board.columns))
for column, (status, lane) in zip(columns, board.columns.items(), strict=True):
    with column:
        st.markdown(f"**{STATUS_LABELS[IncidentStatus(status)]}** ({lane.total})")
        for row in lane.rows:
            card(row, board)
        if lane.hidden:
            list_link(f"{lane.hidden} more", statuses=(status,), severities=OTHER_SEVERITIES,
                      icon=":material/list_alt:")
