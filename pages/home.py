"""Home: the open incidents, client updates, overdue actions and accounts at risk you answer for.

A CSM sees their own; a lead or admin sees the whole team's.
"""

import pandas as pd
import streamlit as st

from core.account.views import health_page
from core.incident.queues import home_page
from core.people.access import ROLE_DUTIES, ROLE_LABELS
from core.sla.clocks import clock_label
from core.text import markdown_literal
from ui.account_forms import editor_of
from ui.account_risk import home_panel as at_risk_home_panel
from ui.auth import utcnow
from ui.compose_view import updates_due_panel
from ui.followers import drill_title
from ui.format import local_time, time_left
from ui.links import opening_table, page_link
from ui.page import page_setup
from ui.report_panels import my_overdue_actions

user = page_setup("home", "Home", ":material/home:")

st.title(f"Hello, {markdown_literal(user.name)}")
st.caption(f"{ROLE_LABELS[user.role]}: {ROLE_DUTIES[user.role]}.")

now = utcnow()
home = home_page(viewer_id=user.id, role=user.role, now=now)
team, listed = home.team, home.listed

left, right = st.columns(2)
left.metric("My open incidents", len(home.mine))
if team:
    right.metric("Open across the team", home.team_open)

updates_due_panel(list(home.updates_due), user.time_zone, now, team=team)

st.subheader("Team's open incidents, most urgent first" if team else "My open incidents")
if team and home.team_open > len(listed):
    st.caption(f"The {len(listed)} most urgent of {home.team_open} open.")
    page_link("incidents", f"All {home.team_open} open incidents", icon=":material/list_alt:")
if not listed:
    st.success("No incident is open." if team else "No open incident is assigned to you or to an account you own.")
else:
    opening_table(pd.DataFrame([{
        "ID": row.id,
        "Severity": row.severity + (" · RED" if row.red_status else ""),
        "Account": f"{row.account} ({row.tier})",
        "Title": drill_title(row.title, row.is_drill),
        "Status": row.status,
        "Owner": row.owner,
        "Detected": local_time(row.detected_at, user.time_zone),
        "Escalation overdue": row.escalation_overdue(now),
        "Next deadline": (
            f"{clock_label(row.next_deadline_clock or '')}: "
            f"{time_left(row.next_deadline_at, now)}" if row.next_deadline_at else "—"
        ),
    } for row in listed]), [row.id for row in listed], key="home_incidents")

if home.following:
    st.subheader("Incidents I follow")
    opening_table(pd.DataFrame([{
        "ID": row.id, "Severity": row.severity, "Account": row.account,
        "Title": drill_title(row.title, row.is_drill), "Status": row.status, "Owner": row.owner,
    } for row in home.following]), [row.id for row in home.following], key="home_following")

my_overdue_actions(user, team=team)

at_risk_home_panel(health_page(viewer=editor_of(user), now=now), team=team)
