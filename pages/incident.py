"""One incident: severity, clocks, milestones, status, escalation ladder and responses, client updates, roles,
action items, timeline.

Open it with `?id=<number>`; the link can be pasted into chat and opens after sign-in.
"""

import streamlit as st

from core.communication.views import incident_page
from core.text import markdown_literal
from ui import compose_view, report_panels
from ui import incident_panels as panel
from ui.auth import utcnow
from ui.incident_actions import pop_notice, remember_version, seen_version
from ui.page import id_from_link, page_setup

user = page_setup("incident", "Incident", ":material/crisis_alert:")
incident_id = id_from_link(
    "Incident", "Open an incident from the Incidents list or the Board, or add `?id=<number>` to this page's address.")
now = utcnow()
loaded = incident_page(incident_id, viewer=user, now=now)
if loaded is None:
    st.error(f"There is no incident #{incident_id}. Check the number in the link.")
    st.stop()
view, editable, people = loaded.view, loaded.editable, loaded.people

expected = seen_version(incident_id, view.version)
notice = pop_notice(incident_id)
if notice:
    st.success(markdown_literal(notice[0]))
    if notice[1]:
        st.code(notice[1], language=None)

panel.header(view, user)
panel.cockpit(view, user)
report_panels.after_incident(view.id, view.milestones["resolved"] is not None, user)
if not editable:
    st.info("You can read this incident; changes are for the account's CSM, its owner, leads and admins.")
panel.clocks(view, user)

work, client_tab, escalation, people_tab, history = st.tabs(
    ["Work", f"Client messages ({len(loaded.messages)})", "Escalation", "Roles", "History"])
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
    panel.client_updates(view, user)
    compose_view.incident_messages(incident_id, loaded.messages, loaded.update_due, user.time_zone, now,
                                   editable=editable)
with escalation:
    panel.ladder(view, user)
    if editable:
        panel.level_response(view, user, expected)
    panel.escalation(view, user, expected, editable)
with people_tab:
    panel.roles(view, user, expected, people, editable)
with history:
    panel.history(view, user)

remember_version(incident_id, view.version)
