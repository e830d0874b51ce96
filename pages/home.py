"""Home: the open incidents, client updates, overdue actions and accounts at risk you answer for.

A CSM sees their own; a lead or admin sees the whole team's.
"""

from ui.page import page_setup

user = page_setup("home", "Home", ":material/home:")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.account.access import works_on_all_accounts  # noqa: E402
from core.communication.cadence import DUE_SOON, updates_due  # noqa: E402
from core.incident import service as incident_queries
from core.people.access import ROLE_DUTIES, ROLE_LABELS  # noqa: E402
from core.sla.clocks import CLOCK_LABELS  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui.account_risk import home_panel as at_risk_home_panel  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.compose_view import updates_due_panel  # noqa: E402
from ui.format import local_time, time_left  # noqa: E402
from ui.report_panels import my_overdue_actions  # noqa: E402

st.title(f"Hello, {markdown_literal(user.name)}")
st.caption(f"{ROLE_LABELS[user.role]}: {ROLE_DUTIES[user.role]}.")

now = utcnow()
with read_scope() as session:
    team = works_on_all_accounts(user.role)
    mine = incident_queries.my_open_incidents(session, user_id=user.id)
    team_open = incident_queries.count_open(session)
    # A lead answers for the team: the most urgent open incidents of everyone.
    listed = incident_queries.board(session, now=now, limit=50) if team else mine
    due_soon = updates_due(session, user_id=None if team else user.id,
                           now=now, within=DUE_SOON)

left, right = st.columns(2)
left.metric("My open incidents", len(mine))
if team:
    right.metric("Open across the team", team_open)

updates_due_panel(due_soon, user.time_zone, now, team=team)

st.subheader("Team's open incidents, most urgent first" if team else "My open incidents")
if team and team_open > len(listed):
    st.caption(f"The {len(listed)} most urgent of {team_open}; the [incident list](/incidents) has them all.")
if not listed:
    st.success("No incident is open." if team else "No open incident is assigned to you or to an account you own.")
else:
    table = pd.DataFrame(
        [
            {
                "ID": row.id,
                "Severity": row.severity + (" · RED" if row.red_status else ""),
                "Account": f"{row.account} ({row.tier})",
                "Title": row.title,
                "Status": row.status,
                "Owner": row.owner,
                "Detected": local_time(row.detected_at, user.time_zone),
                "Escalation overdue": row.escalation_overdue(now),
                "Next deadline": (
                    f"{CLOCK_LABELS.get(row.next_deadline_clock, row.next_deadline_clock)}: {time_left(row.next_deadline_at, now)}"
                    if row.next_deadline_at
                    else "—"
                ),
            }
            for row in listed
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")

my_overdue_actions(user, team=team)

at_risk_home_panel(user, now)
