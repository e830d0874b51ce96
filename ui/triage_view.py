"""How a triage outcome is shown (severity, red status, escalation, reasons, deadlines, ladder), and "Open incident"."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.incident import flows as incidents
from core.policy.calendar import add_working_time
from core.policy.loading import PolicyError
from core.policy.schema import Policy
from core.sla.clocks import clock_label
from core.text import markdown_literal
from core.triage.rules import Answers, TriageResult
from core.vocabulary import SEVERITIES
from db.engine import session_scope
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.links import incident_link, page_link

# Most severe first, like core.vocabulary.SEVERITIES.
SEVERITY_COLOURS = dict(zip(SEVERITIES, ("red", "orange", "blue", "gray"), strict=True))


def severity_badge(severity: str, label: str, red_status: bool) -> str:
    """Markdown badge like ':red-background[P0 · Critical]' plus a red-status marker."""
    colour = SEVERITY_COLOURS.get(severity, "gray")
    badge = f":{colour}-background[**{severity} · {markdown_literal(label)}**]"
    return badge + ("  :red-background[**RED STATUS**]" if red_status else "")


def show_result(result: TriageResult, policy: Policy, *, detected_at: dt.datetime, time_zone: str) -> None:
    """Render a triage outcome with its reasons and the deadlines it starts."""
    st.markdown(severity_badge(result.severity, policy.severity_label(result.severity), result.red_status))
    st.caption(markdown_literal(policy.severity(result.severity).definition))
    level = result.escalation_level
    level_text = f"{level} · {policy.level(level).name}" if level else "none required"
    c1, c2 = st.columns(2)
    c1.metric("Escalation", markdown_literal(result.escalation_category))
    c2.metric("Level to reach", markdown_literal(level_text))
    st.markdown("**Why**")
    for reason in result.reasons:
        st.markdown(f"- {markdown_literal(reason.text)} → *{markdown_literal(reason.outcome)}*  \n  "
                    f"_{markdown_literal(policy.source)} › {markdown_literal(reason.section)}_")
    st.markdown(f"**Deadlines it starts** (detected {local_time(detected_at, time_zone)})")
    rows = [
        {"Clock": clock_label(clock), "Due": local_time(moment, time_zone),
         "From detection": _span(moment - detected_at)}
        for clock, moment in sorted(result.deadlines.items(), key=lambda item: item[1])
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    planned_ladder(result, policy, detected_at=detected_at, time_zone=time_zone)


def planned_ladder(result: TriageResult, policy: Policy, *, detected_at: dt.datetime, time_zone: str) -> None:
    """The escalation ladder triage plans: each level, required from and due by (detection + the step's offsets)."""
    if not result.ladder:
        return
    st.markdown("**Escalation ladder it plans**")
    known = {lvl.id for lvl in policy.escalation_levels}
    calendar = policy.calendar_for("escalation")  # the live ladder's calendar (24x7 or business hours)

    def at(offset: dt.timedelta) -> str:
        return local_time(add_working_time(detected_at, offset, calendar), time_zone)

    # A dataframe shows its cells as plain text: the policy's level names and reasons stay literal.
    st.dataframe([
        {"Level": f"{step.level} · {policy.level(step.level).name}" if step.level in known else step.level,
         "Required from": at(step.start),
         "Due": "no deadline" if step.due is None else at(step.due),
         "From detection": f"{_span(step.start)} to " + ("—" if step.due is None else _span(step.due)),
         "Why": step.reason}
        for step in result.ladder], hide_index=True, width="stretch")


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:g} h"
    return f"{minutes / 1440:g} days"


OPENED = "triage_opened"


def war_room_input(severity: str) -> str:
    """At the severities that open a war room, the optional link of its call or chat room; else nothing."""
    if severity not in incidents.WAR_ROOM_SEVERITIES:
        return ""
    return st.text_input("War room link (optional)", key="triage_war_room", max_chars=incidents.WAR_ROOM_MAX,
                         placeholder="https://meet.example.com/abc-defg-hij",
                         help="The call or chat room where the responders meet; shown on top of the incident.")


def open_incident(*, account_id: int, title: str, summary: str, answers: Answers, policy_name: str,
                  detected_at: dt.datetime, user: CurrentUser, war_room_url: str = "") -> None:
    """Open the incident in one unit of work; on success clear the form and rerun, else explain and keep it."""
    try:
        with session_scope() as session:
            created = incidents.open_incident(
                session, account_id=account_id, title=title, summary=summary, answers=answers,
                policy_name=policy_name, actor=user.actor, now=utcnow(),
                detected_at=detected_at, owner_id=user.id, war_room_url=war_room_url,
            )
    except (incidents.IncidentError, PolicyError) as error:
        st.error(markdown_literal(error))
        return
    for key in [k for k in st.session_state if str(k).startswith(("answer_", "triage_"))]:
        del st.session_state[key]
    st.session_state[OPENED] = (created.id, created.result.severity)
    st.rerun()


def opened_notice() -> None:
    """After an incident was opened: say which, once, with links to it and to the person's open incidents."""
    opened = st.session_state.pop(OPENED, None)
    if opened:
        st.success(f"Incident #{opened[0]} opened as {opened[1]}.")
        with st.container(horizontal=True):
            incident_link(opened[0], f"Open incident #{opened[0]}", icon=":material/crisis_alert:")
            page_link("home", "Go to my open incidents", icon=":material/home:")
