"""How a triage outcome is shown (severity, red status, escalation, reasons, deadlines, ladder), and "Open incident"."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import streamlit as st

from core.incident import flows as incidents
from core.incident.service import SimilarIncident
from core.outage import linking
from core.policy.calendar import add_working_time
from core.policy.loading import PolicyError
from core.policy.schema import Policy
from core.sla.clocks import clock_label
from core.text import markdown_literal
from core.triage.rules import Answers, TriageResult
from core.vocabulary import SEVERITIES
from db.engine import read_scope, session_scope
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.links import go_to, incident_link
from ui.save import queue_toast

# Most severe first, like core.vocabulary.SEVERITIES.
SEVERITY_COLOURS = dict(zip(SEVERITIES, ("red", "orange", "blue", "gray"), strict=True))


def severity_badge(severity: str, label: str, red_status: bool) -> str:
    """Markdown badge like ':red-background[P0 · Critical]' plus a red-status marker."""
    colour = SEVERITY_COLOURS.get(severity, "gray")
    badge = f":{colour}-background[**{severity} · {markdown_literal(label)}**]"
    return badge + ("  :red-background[**RED STATUS**]" if red_status else "")


def headline(result: TriageResult, policy: Policy, *, detected_at: dt.datetime, time_zone: str) -> None:
    """The outcome in three lines: severity and red status, escalation and the level to reach, the three nearest
    deadlines."""
    st.markdown(severity_badge(result.severity, policy.severity_label(result.severity), result.red_status))
    level = result.escalation_level
    level_text = f"{level} · {policy.level(level).name}" if level else "no level required"
    st.markdown(f"Escalation **{markdown_literal(result.escalation_category)}** · reach "
                f"**{markdown_literal(level_text)}**")
    nearest = sorted(result.deadlines.items(), key=lambda item: item[1])[:3]
    if nearest:
        st.markdown(" · ".join(f"{clock_label(clock)} **{local_time(moment, time_zone, '%H:%M')}** "
                               f"({_span(moment - detected_at)})" for clock, moment in nearest))
    else:
        st.caption("No clock starts at this severity.")


def details(result: TriageResult, policy: Policy, *, detected_at: dt.datetime, time_zone: str) -> None:
    """Why (each rule that fired, with its playbook section), every deadline it starts, and the planned ladder."""
    st.caption(markdown_literal(policy.severity(result.severity).definition))
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


def war_room_input(severity: str) -> str:
    """At the severities that open a war room, the optional link of its call or chat room; else nothing."""
    if severity not in incidents.WAR_ROOM_SEVERITIES:
        return ""
    return st.text_input("War room link (optional)", key="triage_war_room", max_chars=incidents.WAR_ROOM_MAX,
                         placeholder="https://meet.example.com/abc-defg-hij",
                         help="The call or chat room where the responders meet; shown on top of the incident.")


# The form's token: one per filled-in form, so a double click, a second click or a resubmit finds the
# incident this form already opened instead of opening a twin (core.incident.flows.open_incident).
_TOKEN = "triage_token"


def form_token() -> str:
    """This form's idempotency token (a new one once the form is emptied after opening)."""
    return st.session_state.setdefault(_TOKEN, uuid.uuid4().hex)


DRILL_LABEL = "This is a drill (an exercise: notifications say DRILL, the dashboard leaves it out)"


def drill_input() -> bool:
    """The drill checkbox: ticked, the incident opens as an exercise (monthly escalation drills)."""
    return st.checkbox(DRILL_LABEL, key="triage_drill",
                       help="For practising the escalation path. Everyone paged or following it is told it is a "
                            "drill, and no SLA figure or objective counts it.")


OUTAGE_QUESTION = "Part of a platform outage?"
NO_OUTAGE = 0  # the picker's "none": outage numbers start at 1


def outage_input(answers: Answers) -> int | None:
    """When the answers say other customers are affected and outages are open, ask which one this incident is part
    of; the chosen outage's number, or None (also when nothing is asked)."""
    if not linking.offer_for(answers):
        return None
    with read_scope() as session:
        offer = linking.open_outages(session)
    if not offer:
        return None
    labels = {NO_OUTAGE: "none: it stands alone", **{choice.id: choice.label for choice in offer}}
    chosen = st.selectbox(OUTAGE_QUESTION, list(labels), format_func=labels.__getitem__, key="triage_outage",
                          help="Other customers are affected: attach the incident to the open outage it is part of. "
                               "It keeps its own clocks, owner and client messages.")
    return chosen or None


def open_incident(*, account_id: int | None, title: str, summary: str, answers: Answers, policy_name: str,
                  detected_at: dt.datetime | None, user: CurrentUser, war_room_url: str = "",
                  is_drill: bool = False, outage_id: int | None = None) -> None:
    """Open the incident once per form (attached to `outage_id` in the same unit of work when given); on success
    empty the form and go to the incident in this tab, else say what to fix and keep everything typed."""
    if account_id is None:
        st.error("Pick the customer account first: the incident, its clocks and its client messages belong to it.")
        return
    opening: dict[str, Any] = dict(
        account_id=account_id, title=title, summary=summary, answers=answers, policy_name=policy_name,
        actor=user.actor, now=utcnow(), detected_at=detected_at, owner_id=user.id, war_room_url=war_room_url,
        idempotency_key=form_token(), is_drill=is_drill)
    try:
        with session_scope() as session:
            opened = (linking.open_in_outage(session, outage_id=outage_id, **opening) if outage_id
                      else incidents.open_incident(session, **opening))
    except (incidents.IncidentError, PolicyError) as error:
        st.error(markdown_literal(error))
        return
    for key in [k for k in st.session_state if str(k).startswith(("answer_", "triage_"))]:
        del st.session_state[key]
    opened_as = f"{'Drill incident' if is_drill else 'Incident'} #{opened.id} opened as {opened.result.severity}"
    if outage_id:
        opened_as += f", part of platform outage #{outage_id}"
    elif linking.offer_for(answers):
        opened_as += (". Other customers are affected: attach it to a platform outage from the line on top of the "
                      "incident, or open one on the Platform outages page")
    queue_toast(opened_as + "." if opened.created else
                f"Incident #{opened.id} was already opened from this form: here it is.")
    go_to("incident", id=opened.id)


def twins_notice(twins: list[SimilarIncident]) -> None:
    """A non-blocking notice: open incidents of this account whose title reads alike, each one click away."""
    if not twins:
        return
    with st.container(border=True):
        st.markdown(":orange[**Maybe already open**] · the same account has an open incident with a similar title:")
        for twin in twins:
            incident_link(twin.id, markdown_literal(f"#{twin.id} · {twin.severity} · {twin.title}"),
                          icon=":material/crisis_alert:")
        st.caption("Opening a new one is still one click.")
