"""On-call: who answers each escalation level now and next, the coming two weeks, covers and swaps;
leads and admins also shape schedules, layers and outside contacts here."""

import streamlit as st

from ui.auth import utcnow
from ui.oncall import (
    cover_form,
    may_manage,
    my_shifts,
    on_call_now,
    overrides_panel,
    schedules_panel,
    swap_form,
    swaps_panel,
)
from ui.oncall_manage import contacts_panel, schedule_forms
from ui.page import page_setup

user = page_setup("oncall", "On-call", ":material/support_agent:")
now = utcnow()

st.title("On-call")
st.caption("Each escalation level has a schedule: its layers rotate people (primary, secondary) and a page climbs "
           "from one layer to the next, then to the manager, until someone acknowledges.")
st.subheader("Who is on call now / next")
on_call_now(user, now)

names = ["Schedules", "Cover and swaps", "My shifts"] + (["Manage schedules", "Outside contacts"]
                                                         if may_manage(user) else [])
tabs = dict(zip(names, st.tabs(names), strict=True))
with tabs["Schedules"]:
    schedules_panel(user, now)
with tabs["Cover and swaps"]:
    st.markdown("**Swap requests waiting for an answer**")
    swaps_panel(user)
    left, right = st.columns(2)
    with left:
        cover_form(user)
    with right:
        swap_form(user)
    st.markdown("**Covers running or planned**")
    overrides_panel(user, now)
with tabs["My shifts"]:
    my_shifts(user, now)
if may_manage(user):
    with tabs["Manage schedules"]:
        schedule_forms(user)
    with tabs["Outside contacts"]:
        contacts_panel(user)
