"""Incidents: filter, search, sort and page through every incident; each row links to it."""

import datetime as dt

import streamlit as st

from core.incident import service as q
from core.incident.views import URGENCY_LABELS, incident_filters, incidents_page
from core.vocabulary import SEVERITIES, STATUS_LABELS, IncidentStatus
from core.zones import zone
from ui.auth import utcnow
from ui.incident_list import filters_from_link, incident_table
from ui.page import page_setup

user = page_setup("incidents", "Incidents", ":material/list_alt:")
PAGE_SIZE = 50
st.title("Incidents")
now = utcnow()
choices = incident_filters()
filters_from_link()  # a link from the board ("N more") sets the filters
names = dict(choices.people)

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    statuses = c1.multiselect("Status", [s.value for s in IncidentStatus], key="f_status",
                              format_func=lambda s: STATUS_LABELS[IncidentStatus(s)])
    severities = c2.multiselect("Severity", list(SEVERITIES), key="f_severity")
    account = c3.selectbox("Customer", [None, *choices.accounts], key="f_account",
                           format_func=lambda a: "any" if a is None else a.label)
    owner = c4.selectbox("Owner", [None, *names], key="f_owner",
                         format_func=lambda uid: "anyone" if uid is None else names[uid])
    c5, c6, c7, c8 = st.columns(4)
    policy = c5.selectbox("Policy", [None, *choices.policies], key="f_policy", format_func=lambda p: p or "any")
    urgency = c6.selectbox("Clocks", list(URGENCY_LABELS), key="f_urgency", format_func=URGENCY_LABELS.get)
    dates = c7.date_input("Detected between", value=(), key="f_dates")
    sort = c8.selectbox("Sort", list(q.SORTS), key="f_sort")
    text = st.text_input("Search title, summary or customer, or #id", key="f_text")

local = zone(user.time_zone)
start = dt.datetime.combine(dates[0], dt.time(), tzinfo=local) if len(dates) >= 1 else None
end = dt.datetime.combine(dates[1], dt.time(), tzinfo=local) + dt.timedelta(days=1) if len(dates) == 2 else None
flt = q.IncidentFilter(statuses=tuple(statuses), severities=tuple(severities),
                       account_id=account.id if account else None, owner_id=owner, policy=policy, urgency=urgency,
                       detected_from=start, detected_to=end, text=text, sort=q.SORTS[sort])
found = incidents_page(flt, now=now, page=st.session_state.get("f_page", 1), page_size=PAGE_SIZE)
st.caption(f"{found.counted} incident{'s' if found.total != 1 else ''} match · page {found.page} of "
           f"{found.pages}{' or more' if found.total_is_lower_bound else ''}")
incident_table(found, user.time_zone, now)
st.number_input("Page", min_value=1, max_value=found.pages, value=found.page, key="f_page")
