"""Platform outages: one failure hitting many clients, with one linked incident per account.

The list (open first), one outage with `?id=` or the picker, its linked incidents, one update to
every client at once (each in its own zone, each meeting its own plan), and resolving it with its
incidents. The work is core.outage's; the parts are ui.outage_views.
"""

import streamlit as st

from core.outage.views import outage_detail, outages_page
from ui.auth import utcnow
from ui.outage_views import (
    bulk_update_form,
    counts,
    header,
    linked_table,
    new_outage_form,
    outage_list,
    resolve_form,
    resolved_notice,
)
from ui.page import page_setup

user = page_setup("outages", "Platform outages", ":material/public:")
now = utcnow()

st.title("Platform outages")
st.caption("When one failure hits many clients: one parent, one incident per account. Each incident keeps its own "
           "clocks, owner and messages; an update here is written to each client in its own time zone.")
page_number = st.number_input("Page", min_value=1, value=1, step=1, key="outages_page")
view = outages_page(page=int(page_number))
counts(view)
outage_list(view, user.time_zone)
with st.expander("Open a new platform outage"):
    new_outage_form(user, now)

choices = {r.id: f"#{r.id} · {r.title} ({r.status})" for r in view.outages.rows}
raw = st.query_params.get("id", "")
chosen = int(raw) if raw.isdigit() else st.selectbox("Open an outage", [None, *choices], key="outage_pick",
                                                     format_func=lambda i: "pick one" if i is None else choices[i])
if chosen is None:
    st.stop()
detail = outage_detail(chosen, user.actor)
if detail is None:
    st.warning(f"There is no platform outage #{chosen}.")
    st.stop()
st.divider()
header(detail, user.time_zone)
resolved_notice()
linked, bulk, resolve = st.tabs(["Linked incidents", "Update every client", "Resolve"])
with linked:
    linked_table(detail, user.time_zone, now)
with bulk:
    if detail.is_open:
        bulk_update_form(detail, user, now)
    else:
        st.info("This outage is resolved: write to a client from its own incident.")
with resolve:
    resolve_form(detail, user, now)
