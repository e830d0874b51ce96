"""The top of the incident page: who and what at a glance, the war room, the most urgent thing owed counting
down, the steps of the current phase and the actions of the main path, all visible without scrolling.

Everything here renders an `IncidentView` and sends changes through `ui.incident_actions.run_change`;
what is owed, in which order, and what a step records are decided in core (`core.incident.views.due_items`,
`core.incident.phases`). This module never decides a rule and never writes outside `run_change`.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.incident import flows as incidents
from core.incident import steps as phase_steps
from core.incident.lifecycle import MILESTONE_LABELS, Milestone, move_confirmation
from core.incident.views import IncidentView, due_items, incident_stamp, next_escalation, settled_by
from core.text import markdown_literal
from core.vocabulary import STATUS_LABELS, ClockState, IncidentStatus
from ui.auth import CurrentUser, utcnow
from ui.confirm import confirm
from ui.followers import DRILL_BADGE
from ui.format import countdown, local_time, time_left
from ui.incident_actions import run_change
from ui.links import page_link
from ui.triage_view import severity_badge

_COLOUR = {ClockState.BREACHED: "red", ClockState.RUNNING: "orange", ClockState.PAUSED: "gray"}
# A countdown closer than this to its deadline is shown as urgent (orange), further off as calm (blue).
_SOON = dt.timedelta(minutes=30)
# The milestones of the main path, in the order a responder reaches them; each is one button while not recorded.
MAIN_PATH = (Milestone.ACKNOWLEDGED, Milestone.CLIENT_NOTIFIED, Milestone.MOBILIZED, Milestone.MITIGATED,
             Milestone.RESOLVED)
# Short enough for five buttons in a row at 1440 px.
ACTION_LABELS = {Milestone.ACKNOWLEDGED: "Acknowledge now", Milestone.CLIENT_NOTIFIED: "Client notified now",
                 Milestone.MOBILIZED: "Team mobilised now", Milestone.MITIGATED: "Workaround now",
                 Milestone.RESOLVED: "Resolved now", Milestone.CLIENT_CONFIRMED: "Client confirmed the fix"}
STEP_ICONS = {ClockState.MET: "✅", ClockState.BREACHED: "🔴", ClockState.PENDING: "⬜"}


def header(view: IncidentView) -> None:
    """Title, then one line: severity, status, account, owner, escalation level required and reached."""
    st.title(f"#{view.id} · {markdown_literal(view.title)}")
    esc = view.escalation
    level = f"at {markdown_literal(view.current_level)}" if view.current_level else "not escalated"
    if esc.required_level:
        level += f", {markdown_literal(esc.required_level)} required"
        if esc.overdue:
            level = f":red[{level} (overdue)]"
    st.markdown(" · ".join([
        *([DRILL_BADGE] if view.is_drill else []),
        severity_badge(view.severity, view.severity_label, view.red_status),
        f"**{STATUS_LABELS[IncidentStatus(view.status)]}**",
        f"{markdown_literal(view.account_name)} ({markdown_literal(view.account_tier)})",
        f"owner {markdown_literal(view.owner_name)}",
        level,
    ]))


def war_room(view: IncidentView, expected: int, user: CurrentUser, editable: bool) -> None:
    """The war room link on top when there is one; otherwise, for people who may edit, a place to add it."""
    if view.war_room_url:
        # An outside address (a call or chat room): it opens in a new tab on purpose.
        st.link_button("Join the war room", view.war_room_url, icon=":material/video_call:", type="primary")
    if not (editable and view.is_open):
        return
    label = "Change the war room link" if view.war_room_url else "Add the war room link"
    with st.popover(label, icon=":material/link:"), st.form("war_room_form"):
        url = st.text_input("Call or chat room link", value=view.war_room_url or "", key="war_room_url",
                            placeholder="https://meet.example.com/abc-defg-hij",
                            help="Leave empty and save to remove the link.")
        if st.form_submit_button("Save link"):
            run_change(view.id, lambda s: incidents.set_war_room(
                s, incident_id=view.id, url=url, actor=user.actor, now=utcnow(), expected_version=expected),
                "War room link saved." if url.strip() else "War room link removed.")


@st.fragment(run_every=10)
def cockpit(view: IncidentView, user: CurrentUser, expected: int, editable: bool) -> None:
    """Redrawn every 10 s without a click: the most urgent thing owed counting down, the current phase's steps,
    the main path's actions, and a notice when someone else saved the incident since this page was drawn."""
    now = utcnow()
    _most_urgent(view, user, now)
    if editable:
        _main_path_actions(view, user, expected)
    steps, next_up = st.columns([3, 2], gap="large")
    with steps:
        _phase_steps(view, user, expected, editable, now)
    with next_up:
        _next_message_and_level(view, user, editable, now)
    stamp = incident_stamp(view.id, since=view.version)
    if stamp is not None and stamp.version > view.version:
        st.warning(f"Someone else saved this incident (now version {stamp.version}, you see {view.version}). "
                   "What you are typing is kept when you refresh.")
        for change in stamp.changes:
            st.text(f"{local_time(change.at, user.time_zone, '%H:%M')} {change.actor}: {change.action}")
        if st.button("Show their changes", key="cockpit_refresh"):
            st.rerun(scope="app")


def _most_urgent(view: IncidentView, user: CurrentUser, now: dt.datetime) -> None:
    owed = due_items(view)
    if not owed:
        st.caption("No clock is running: nothing is owed right now." if view.is_open else
                   "Resolved: no clock is running.")
        return
    first = owed[0]
    late = first.deadline < now
    colour = _COLOUR[first.state] if late or first.deadline - now <= _SOON else "blue"
    if first.state is ClockState.PAUSED:
        colour = "gray"
    st.markdown(f"### :{colour}[{markdown_literal(first.label)}: {countdown(first.deadline, now)}]")
    st.caption(f"Due {local_time(first.deadline, user.time_zone)} · the most urgent of {len(owed)} "
               f"thing{'s' if len(owed) != 1 else ''} owed")
    rest = owed[1:4]
    if rest:
        st.markdown(" · ".join(f"{markdown_literal(i.label)} {time_left(i.deadline, now)}" for i in rest))


def _main_path_actions(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """One click each: the main path's milestones not recorded yet, the escalation the ladder asks for now,
    writing to the client; after resolution, the client's confirmation and closing (which asks first)."""
    actor = user.actor
    buttons: list[Milestone] = []
    if view.is_open:
        buttons = [m for m in MAIN_PATH if view.milestones.get(m.value) is None]
    elif view.milestones.get("client_confirmed") is None and view.milestones.get("resolved"):
        buttons = [Milestone.CLIENT_CONFIRMED]
    due_level = next_escalation(view, utcnow()) if view.is_open else None
    close = view.status == IncidentStatus.RESOLVED.value
    count = len(buttons) + (due_level is not None) + close
    if not count:
        return
    # The button that settles the most urgent thing owed is the primary one; else the next milestone's.
    owed = due_items(view)
    urgent = settled_by(owed[0]) if owed else None
    if urgent not in {m.value for m in buttons} and not (urgent == "escalate" and due_level):
        urgent = buttons[0].value if buttons else None
    cols = st.columns(count)
    for col, milestone in zip(cols, buttons, strict=False):
        primary = milestone.value == urgent
        if col.button(ACTION_LABELS[milestone], key=f"ms_{milestone.value}", width="stretch",
                      help=f"Record '{MILESTONE_LABELS[milestone]}' now (an earlier time: the Work tab).",
                      type="primary" if primary else "secondary"):
            run_change(view.id, lambda s, m=milestone: incidents.record_milestone(
                s, incident_id=view.id, milestone=m, actor=actor, now=utcnow(), expected_version=expected),
                f"{MILESTONE_LABELS[milestone]} recorded.")
    index = len(buttons)
    if due_level is not None:
        level, reasons = due_level
        if cols[index].button(f"Escalate to {level} now", key="cockpit_escalate", width="stretch",
                              type="primary" if urgent == "escalate" else "secondary",
                              help=markdown_literal(f"{view.level_names.get(level, level)}: {reasons}")):
            run_change(view.id, lambda s: incidents.escalate(
                s, incident_id=view.id, to_level=level, reason=f"The escalation ladder requires it: {reasons}",
                actor=actor, now=utcnow(), expected_version=expected),
                f"Escalated to {level}. Handoff summary:")
        index += 1
    if close:
        asked = cols[index].button("Close incident…", key="cockpit_close", width="stretch")
        confirm(move_confirmation(IncidentStatus.CLOSED.value) or "", yes_label="Yes, close it", key="close",
                ask=asked, apply=lambda: run_change(view.id, lambda s: incidents.move_status(
                    s, incident_id=view.id, target=IncidentStatus.CLOSED.value, actor=actor, now=utcnow(),
                    expected_version=expected), "Incident closed."))


def _phase_steps(view: IncidentView, user: CurrentUser, expected: int, editable: bool, now: dt.datetime) -> None:
    """The current phase of the policy's plan and its steps: due time, state, one click each."""
    phase = view.current_phase
    if phase is not None:
        st.markdown(f"**Now: {markdown_literal(phase.title)}**")
        st.caption(f"{local_time(phase.start, user.time_zone, '%a %H:%M')} to "
                   f"{local_time(phase.end, user.time_zone, '%a %H:%M')} · {markdown_literal(phase.section)}")
        for step in phase.steps:
            text, action = st.columns([5, 2], vertical_alignment="center")
            due = (f"done {local_time(step.done_at, user.time_zone, '%H:%M')}" if step.done_at
                   else f"due {local_time(step.due, user.time_zone, '%H:%M')} ({time_left(step.due, now)})")
            text.markdown(f"{STEP_ICONS[step.state]} {markdown_literal(step.title)} · {due}")
            if editable and step.done_at is None and (view.is_open or step.milestone == "client_confirmed"):
                label = f"{MILESTONE_LABELS[Milestone(step.milestone)]}" if step.milestone else "Done"
                if action.button(label, key=f"step_{step.key}", width="stretch"):
                    run_change(view.id, lambda s, k=step.key: phase_steps.complete_step(
                        s, incident_id=view.id, step_key=k, actor=user.actor, now=utcnow(),
                        expected_version=expected), f"Done: {step.title}.")
    elif view.is_open and any(p.steps for p in view.phases):
        st.caption("Every step of the policy's plan is done.")
    elif view.is_open:
        st.caption(f"The policy {markdown_literal(view.policy_name)} lists no steps for this incident.")


def _next_message_and_level(view: IncidentView, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """The next planned client message, with the way to write it, and the next escalation step with who to call."""
    plan = view.client_plan
    upcoming = None if plan is None else next(
        (u for u in plan.updates if u.sent_at is None and u.due == plan.next_due), None)
    if upcoming is not None and view.is_open:
        late = upcoming.due < now
        st.markdown(f"{':red[**Client message overdue**]' if late else '**Next client message**'}: "
                    f"{markdown_literal(upcoming.title)}, due {local_time(upcoming.due, user.time_zone, '%H:%M')} "
                    f"({time_left(upcoming.due, now)})")
        if editable:
            page_link("compose", "Write to the client", query={"id": view.id}, icon=":material/mail:")
    step = next((s for s in view.escalation.ladder if s.reached_at is None), None)
    if step is not None and view.is_open:
        due = f"due {local_time(step.due, user.time_zone, '%H:%M')}" if step.due else "no deadline"
        who = "; ".join(_who(c) for c in step.contacts) or "no contact in the policy"
        st.markdown(f"**Next escalation**: {markdown_literal(step.level)} · {markdown_literal(step.name)}, {due}  \n"
                    f"Call: {markdown_literal(who)}")


def _who(contact) -> str:
    # The short form for the cockpit: who, then the fastest way to reach them.
    who = contact.name or contact.role
    reach = contact.phone or contact.email or contact.channel
    return f"{who} ({reach})" if reach else who
