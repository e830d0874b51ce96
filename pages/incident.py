"""One incident, as a cockpit: what is owed most urgently counting down, the current phase's steps and the
main path's actions on top; clocks, then tabs for the work, client messages, escalation, roles and history.

Open it with `?id=<number>`; the link can be pasted into chat and opens after sign-in.
"""

import streamlit as st

from core.communication.views import incident_page
from core.text import markdown_literal
from ui import (
    cockpit,
    compose_view,
    followers,
    oncall_pages,
    outage_panels,
    report_panels,
    status_page_panels,
    status_subscribers,
)
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
handoff = pop_notice(incident_id)
if handoff:
    with st.expander(handoff[0], expanded=True):
        st.code(handoff[1], language=None)

cockpit.header(view)
followers.drill_banner(view.is_drill)
outage_panels.incident_outage_banner(view.id, user, editable, now)
# One row above the main path: the war room, then following.
war_room_place, *follow_places = st.columns([1.4, 0.9, 1.3, 2.4], vertical_alignment="center")
with war_room_place:
    cockpit.war_room(view, expected, user, editable)
followers.follow_controls(incident_id, user, (follow_places[0], follow_places[1], follow_places[2]))
cockpit.cockpit(view, user, expected, editable)
oncall_pages.paging_section(view.id, user, editable)
if not editable:
    st.info("You can read this incident; changes are for the account's CSM, its owner, leads and admins.")
panel.clocks(view, user)
report_panels.after_incident(view.id, view.milestones["resolved"] is not None, user)

work, client_tab, status_tab, escalation, people_tab, history = st.tabs(
    ["Work", f"Client messages ({len(loaded.messages)})", "Status page", "Escalation", "Roles", "History"])
with work:
    if view.summary:
        st.text(view.summary)
    st.caption(markdown_literal(f"Policy {view.policy_title} ({view.policy_name} v{view.policy_version}) · "
                                f"{view.severity_definition}"))
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
with status_tab:
    status_page_panels.status_page_section(view.id, user, editable, now)
    status_subscribers.subscribers_section(view.id, user, editable, now)
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
