"""Incidents: filter, search, sort and page through every incident; each row links to it."""

from ui.page import page_setup

user = page_setup("incidents", "Incidents", ":material/list_alt:")

import datetime as dt  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.account.access import accounts_for  # noqa: E402
from core.communication.cadence import client_update_due  # noqa: E402
from core.incident import service as q  # noqa: E402
from core.people.access import Role  # noqa: E402
from core.policy import store as policy_store  # noqa: E402
from core.sla.clocks import CLOCK_LABELS  # noqa: E402
from core.vocabulary import STATUS_LABELS, IncidentStatus  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import local_time, time_left  # noqa: E402

PAGE_SIZE = 50
st.title("Incidents")
now = utcnow()
with read_scope() as session:
    all_accounts = accounts_for(session, user_id=user.id, role=Role.LEAD)
    people = q.owners(session)
    policies = policy_store.policy_names(session)

with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    statuses = c1.multiselect("Status", [s.value for s in IncidentStatus], key="f_status",
                              default=["new", "acknowledged", "mobilized", "mitigated", "reopened"],
                              format_func=lambda s: STATUS_LABELS[IncidentStatus(s)])
    severities = c2.multiselect("Severity", ["P0", "P1", "P2", "P3"], key="f_severity")
    account = c3.selectbox("Customer", [None, *all_accounts], key="f_account",
                           format_func=lambda a: "any" if a is None else a.label)
    owner = c4.selectbox("Owner", [None, *[p[0] for p in people]], key="f_owner",
                         format_func=lambda uid: "anyone" if uid is None else dict(people)[uid])
    c5, c6, c7, c8 = st.columns(4)
    policy = c5.selectbox("Policy", [None, *policies], key="f_policy", format_func=lambda p: p or "any")
    urgency = c6.selectbox("Clocks", ["any", "breached", "escalation_overdue", "client_update_overdue",
                                      "due_within_hour"], key="f_urgency",
                           format_func={"any": "any", "breached": "overdue now",
                                        "escalation_overdue": "escalation overdue",
                                        "client_update_overdue": "client update overdue",
                                        "due_within_hour": "due within the hour"}.get)
    dates = c7.date_input("Detected between", value=(), key="f_dates")
    sort = c8.selectbox("Sort", list(q.SORTS), key="f_sort")
    text = st.text_input("Search title, summary or customer, or #id", key="f_text")

zone = ZoneInfo(user.time_zone)
start = dt.datetime.combine(dates[0], dt.time(), tzinfo=zone) if len(dates) >= 1 else None
end = dt.datetime.combine(dates[1], dt.time(), tzinfo=zone) + dt.timedelta(days=1) if len(dates) == 2 else None
flt = q.IncidentFilter(statuses=tuple(statuses), severities=tuple(severities),
                       account_id=account.id if account else None, owner_id=owner, policy=policy, urgency=urgency,
                       detected_from=start, detected_to=end, text=text, sort=q.SORTS[sort])
page = st.session_state.get("f_page", 1)
with read_scope() as session:
    rows, total = q.search(session, flt, now=now, page=page, page_size=PAGE_SIZE)
    update_due = client_update_due(session, [r.id for r in rows])
pages = max(1, -(-total // PAGE_SIZE))
if page > pages:
    page = 1
st.caption(f"{total:,} incident{'s' if total != 1 else ''} match · page {page} of {pages}")

table = pd.DataFrame([{
    "Open": f"/incident?id={r.id}", "ID": r.id, "Severity": r.severity + (" RED" if r.red_status else ""),
    "Customer": f"{r.account} ({r.tier})", "Title": r.title, "Status": STATUS_LABELS[IncidentStatus(r.status)],
    "Owner": r.owner or "unassigned", "Detected": local_time(r.detected_at, user.time_zone),
    "Most urgent clock": (f"{CLOCK_LABELS.get(r.next_deadline_clock, r.next_deadline_clock)}: {time_left(r.next_deadline_at, now)}"
                          if r.next_deadline_at else "—"),
    "Overdue": bool(r.next_deadline_at and r.next_deadline_at < now),
    "Escalation overdue": r.escalation_overdue(now),
    "Client update": time_left(update_due.get(r.id), now),
    "Client update overdue": bool(update_due.get(r.id) and update_due[r.id] < now),
} for r in rows])
if table.empty:
    st.info("No incident matches these filters.")
else:
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "Open": st.column_config.LinkColumn("Open", display_text="open"),
        "Overdue": st.column_config.CheckboxColumn("Overdue"),
        "Escalation overdue": st.column_config.CheckboxColumn("Escalation overdue"),
        "Client update overdue": st.column_config.CheckboxColumn("Client update overdue")})
st.number_input("Page", min_value=1, max_value=pages, value=page, key="f_page")
