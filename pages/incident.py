"""One incident: severity, clocks, milestones, status, escalation, roles, action items, timeline.

Open it with `?id=<number>`; the link can be pasted into chat and opens after sign-in.
"""

from ui.page import page_setup

user = page_setup("incident", "Incident", ":material/crisis_alert:")

import streamlit as st  # noqa: E402

from core.account.access import may_work_on  # noqa: E402
from core.communication import flows as communications  # noqa: E402
from core.communication.cadence import client_update_due  # noqa: E402
from core.incident import service as incident_queries
from core.incident import views as incident_view
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui import (
    compose_view,
    report_panels,
)
from ui import incident_panels as panel  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.incident_actions import pop_notice, remember_version, seen_version  # noqa: E402
from ui.page import id_from_link  # noqa: E402

incident_id = id_from_link(
    "Incident", "Open an incident from the Incidents list or the Board, or add `?id=<number>` to this page's address.")

with read_scope() as session:
    view = incident_view.load(session, incident_id, now=utcnow())
    people = incident_queries.owners(session)
    messages_log = communications.communication_log(session, incident_id)
    update_due = client_update_due(session, [incident_id]).get(incident_id)
if view is None:
    st.error(f"There is no incident #{incident_id}. Check the number in the link.")
    st.stop()

expected = seen_version(incident_id, view.version)
editable = may_work_on(user.role, user.id, view.account_owner_id) or view.owner_id == user.id
notice = pop_notice(incident_id)
if notice:
    st.success(markdown_literal(notice[0]))
    if notice[1]:
        st.code(notice[1], language=None)

panel.header(view, user)
report_panels.after_incident(view.id, view.milestones["resolved"] is not None, user)
if not editable:
    st.info("You can read this incident; changes are for the account's CSM, its owner, leads and admins.")
panel.clocks(view, user)

work, client_tab, escalation, people_tab, history = st.tabs(
    ["Work", f"Client messages ({len(messages_log)})", "Escalation", "Roles", "History"])
with work:
    if editable:
        panel.milestones(view, user, expected)
        left, right = st.columns(2)
        with left:
            panel.status(view, user, expected)
        with right:
            panel.severity(view, user, expected)
    panel.work_log(view, user, people, editable)
with client_tab:
    compose_view.incident_messages(incident_id, messages_log, update_due, user.time_zone, utcnow(), editable=editable)
with escalation:
    panel.escalation(view, user, expected, editable)
with people_tab:
    panel.roles(view, user, expected, people, editable)
with history:
    panel.history(view, user)

remember_version(incident_id, view.version)
