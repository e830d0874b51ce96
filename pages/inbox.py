"""Inbox: the signed-in person's notifications, newest first, a page at a time; mark read, acknowledge."""

import streamlit as st

from core.alerts.views import PAGE_SIZE, inbox_page
from ui.auth import utcnow
from ui.inbox import inbox_item, mark_page_read
from ui.page import page_setup
from ui.paging import newer_older

user = page_setup("inbox", "Inbox", ":material/notifications:")

st.title("Inbox")
st.caption("Alerts sent to you: clocks about to breach, breaches, client updates due. Acknowledging one tells "
           "the team you have it and stops its reminders.")
number = st.session_state.get("inbox_page", 0)
items, total = inbox_page(user.id, now=utcnow(), page=number)
if not total:
    st.info("Nothing here yet. Alerts about your incidents arrive here (and by email when you have an address).")
    st.stop()
pages = max(1, -(-total // PAGE_SIZE))
st.caption(f"{total} notification(s) · page {number + 1} of {pages}")
mark_page_read(items, user)
for item in items:
    inbox_item(item, user)
newer_older("inbox_page", number, pages)
