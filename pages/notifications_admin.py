"""Notifications (admins): what the outbox sent, to whom and over which channel; dead letters and retry; endpoints."""

import streamlit as st

from ui.deliveries import show_deliveries
from ui.endpoint_forms import endpoint_panel
from ui.page import page_setup

user = page_setup("notifications_admin", "Notifications", ":material/campaign:")

st.title("Notifications")
st.caption("Every alert the app queued: in-app, email, webhooks, Slack, Teams and SMS. A failed delivery is "
           "retried with growing pauses; one that keeps failing becomes a dead letter, with its reason.")
deliveries, endpoints = st.tabs(["Deliveries", "Endpoints"])
with deliveries:
    show_deliveries(user)
with endpoints:
    endpoint_panel(user)
