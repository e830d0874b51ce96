"""Notifications (admins): what the outbox sent, to whom and over which channel; failures, dead letters, retry."""

import streamlit as st

from core.alerts.views import PAGE_SIZE, deliveries_page
from ui.deliveries import dead_letters, deliveries_table, delivery_filter, state_counts
from ui.page import page_setup

user = page_setup("notifications_admin", "Notifications", ":material/campaign:")

st.title("Notifications")
st.caption("Every alert the app queued: in-app, email, webhooks, Slack, Teams and SMS. A failed delivery is "
           "retried with growing pauses; one that keeps failing becomes a dead letter below, with its reason.")
flt = delivery_filter()
number = st.session_state.get("n_page", 0)
found = deliveries_page(flt, page=number)
state_counts(found.counts)
if not found.total:
    st.info("No notification matches these filters.")
    st.stop()
pages = max(1, -(-found.total // PAGE_SIZE))
st.caption(f"{found.total:,} matching · page {min(number, pages - 1) + 1} of {pages}, most recently changed first")
deliveries_table(found.rows, user.time_zone)
back, forward = st.columns(2)
if number > 0 and back.button("Newer", icon=":material/arrow_back:"):
    st.session_state["n_page"] = number - 1
    st.rerun()
if number + 1 < pages and forward.button("Older", icon=":material/arrow_forward:"):
    st.session_state["n_page"] = number + 1
    st.rerun()
dead_letters(found.rows)
