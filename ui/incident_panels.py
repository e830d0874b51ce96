"""The incident page's panels: header, clocks, milestones, status, escalation, roles, work log.

Each panel renders part of an `IncidentView` and, when the viewer may edit,
offers the changes that belong to it through `ui.incident_actions.run_change`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.incident import assignments
from core.incident import flows as incidents
from core.incident.lifecycle import MILESTONE_LABELS, Milestone
from core.incident.views import IncidentView, clocks_by_urgency, due_items, incident_stamp
from core.limits import FREE_TEXT, TITLE
from core.policy.schema import Contact
from core.text import markdown_literal
from core.vocabulary import SEVERITIES, STATUS_LABELS, ClockState, IncidentStatus
from core.zones import zone
from ui.auth import CurrentUser, utcnow
from ui.format import countdown, human_duration, local_time, time_left
from ui.incident_actions import run_change
from ui.triage_view import severity_badge

# Every state of the shared enum: clocks, ladder steps and planned client messages read the same way.
STATE_ICONS = {ClockState.MET: "✅ met", ClockState.BREACHED: "🔴 breached", ClockState.RUNNING: "⏳ running",
               ClockState.PAUSED: "⏸ paused", ClockState.PENDING: "⏳ pending", ClockState.STOPPED: "⏹ stopped"}


def header(view: IncidentView, user: CurrentUser) -> None:
    """Title, severity, red status, levels, owner and account."""
    st.title(f"#{view.id} · {markdown_literal(view.title)}")
    st.markdown(severity_badge(view.severity, view.severity_label, view.red_status)
                + f"  ·  **{STATUS_LABELS[IncidentStatus(view.status)]}**")
    esc = view.escalation
    cols = st.columns(4)
    cols[0].metric("Account", markdown_literal(view.account_name), markdown_literal(view.account_tier),
                   delta_color="off")
    cols[1].metric("Owner", markdown_literal(view.owner_name))
    required = esc.required_level or "none"
    cols[2].metric("Escalation required", markdown_literal(required),
                   markdown_literal(view.level_names.get(esc.required_level or "", "")),
                   delta_color="off")
    cols[3].metric("Current level", markdown_literal(view.current_level or "none"),
                   "overdue" if esc.overdue else None, delta_color="inverse")
    if esc.overdue:
        st.error(f"Escalation to {markdown_literal(esc.required_level)} is overdue "
                 f"(was due {local_time(esc.due_at, user.time_zone)}).")
    if view.summary:
        st.text(view.summary)
    st.caption(f"Policy {markdown_literal(view.policy_title)} (`{view.policy_name}` v{view.policy_version}) · "
               f"{markdown_literal(view.severity_definition)}")


_COLOUR = {ClockState.BREACHED: "red", ClockState.RUNNING: "orange", ClockState.PAUSED: "gray"}
# A countdown closer than this to its deadline is shown as urgent (orange), further off as calm (blue).
_SOON = dt.timedelta(minutes=30)


@st.fragment(run_every=10)
def cockpit(view: IncidentView, user: CurrentUser) -> None:
    """The most urgent thing owed, counting down every 10 s without a click, the next ones after it, and a
    notice when someone else saved the incident since this page was drawn."""
    now = utcnow()
    owed = due_items(view)
    if owed:
        first = owed[0]
        late = first.deadline < now
        colour = _COLOUR[first.state] if late or first.deadline - now <= _SOON else "blue"
        if first.state is ClockState.PAUSED:
            colour = "gray"
        when = countdown(first.deadline, now)
        st.markdown(f"### :{colour}[{markdown_literal(first.label)}: {when}]")
        st.caption(f"Due {local_time(first.deadline, user.time_zone)} · the most urgent of {len(owed)} "
                   f"thing{'s' if len(owed) != 1 else ''} owed")
        rest = owed[1:4]
        if rest:
            st.markdown(" · ".join(f"{markdown_literal(i.label)} {time_left(i.deadline, now)}" for i in rest))
    elif view.is_open:
        st.caption("No clock is running: nothing is owed right now.")
    stamp = incident_stamp(view.id, since=view.version)
    if stamp is not None and stamp.version > view.version:
        st.warning(f"Someone else saved this incident (now version {stamp.version}, you see {view.version}). "
                   "What you are typing is kept when you refresh.")
        for change in stamp.changes:
            st.text(change)
        if st.button("Show their changes", key="cockpit_refresh"):
            st.rerun(scope="app")


def clocks(view: IncidentView, user: CurrentUser) -> None:
    """Every SLA clock, most urgent first: target, deadline, time left or overdue, state."""
    now = utcnow()
    # st.table cells are Markdown: a level response clock's label carries the policy's level name.
    rows = [{"Clock": markdown_literal(c.label), "Target": human_duration(int(c.target.total_seconds())),
             "Deadline": local_time(c.deadline, user.time_zone),
             "Stopped": local_time(c.stopped_at, user.time_zone) if c.stopped_at else "",
             "Time left": "" if c.stopped_at else time_left(c.deadline, now),
             "State": STATE_ICONS[c.state]} for c in clocks_by_urgency(view.clocks)]
    # A plain table: small, readable by screen readers and by the browser tests.
    st.table(pd.DataFrame(rows).set_index("Clock"))
    if view.paused:
        st.info(f"Clocks paused: {', '.join(view.pausable_clocks)} are stopped until you resume them.")


def milestones(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """Record a milestone now with one click, or at an earlier time with a reason."""
    actor = user.actor
    pending = [m for m in Milestone if m is not Milestone.DETECTED and (
        view.milestones.get(m.value) is None or m is Milestone.CLIENT_NOTIFIED)]
    done = {m: view.milestones.get(m.value) for m in Milestone if view.milestones.get(m.value)}
    st.caption(" · ".join(f"{MILESTONE_LABELS[m]} {local_time(at, user.time_zone, '%d %b %H:%M')}"
                          for m, at in done.items()))
    buttons = [m for m in pending if m is not Milestone.CLIENT_NOTIFIED or not done.get(m)]
    cols = st.columns(max(1, len(buttons)))
    for col, milestone in zip(cols, buttons, strict=False):
        if col.button(f"{MILESTONE_LABELS[milestone]} now", key=f"ms_{milestone.value}"):
            run_change(view.id, lambda s, m=milestone: incidents.record_milestone(
                s, incident_id=view.id, milestone=m, actor=actor, now=utcnow(), expected_version=expected),
                f"{MILESTONE_LABELS[milestone]} recorded.")
    with st.expander("Record a milestone at an earlier time"), st.form("past_milestone"):
        milestone = st.selectbox("Milestone", buttons or list(Milestone)[1:],
                                 format_func=lambda m: MILESTONE_LABELS[m], key="past_ms")
        at, reason = _earlier_time(user, "past", "e.g. phoned the client at 09:12, logging it after the call")
        if st.form_submit_button("Record"):
            run_change(view.id, lambda s: incidents.record_milestone(
                s, incident_id=view.id, milestone=milestone, actor=actor, now=utcnow(), at=at, reason=reason,
                expected_version=expected), f"{MILESTONE_LABELS[milestone]} recorded.")


def _earlier_time(user: CurrentUser, prefix: str, example: str) -> tuple[dt.datetime, str]:
    """Inside a form: a date and time in the user's zone (now by default) and why it is logged late, as UTC."""
    local = zone(user.time_zone)
    now_local = utcnow().astimezone(local)
    day = st.date_input("Date", value=now_local.date(), key=f"{prefix}_day")
    at_time = st.time_input("Time", value=now_local.time().replace(second=0, microsecond=0), key=f"{prefix}_time",
                            help=f"In your time zone, {user.time_zone}.")
    reason = st.text_input("Why now and not live", key=f"{prefix}_reason", max_chars=FREE_TEXT.max_chars,
                           placeholder=example)
    return dt.datetime.combine(day, at_time, tzinfo=local).astimezone(dt.UTC), reason


def status(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """Move the status along the lifecycle; illegal moves are refused with the allowed ones."""
    actor = user.actor
    # The allowed moves first (the first of them preselected), then the others, which core refuses with why.
    others = [s.value for s in IncidentStatus if s.value != view.status and s.value not in view.allowed_moves]
    options = [*view.allowed_moves, *others]
    with st.form("status_move"):
        target = st.selectbox("Move to", options, format_func=lambda s: STATUS_LABELS[IncidentStatus(s)],
                              key="status_target")
        reason = st.text_input("Reason (required to reopen)", key="status_reason", max_chars=FREE_TEXT.max_chars)
        st.caption("Allowed from here: " + (", ".join(STATUS_LABELS[IncidentStatus(s)]
                                                       for s in view.allowed_moves) or "none"))
        if st.form_submit_button("Move status"):
            run_change(view.id, lambda s: incidents.move_status(
                s, incident_id=view.id, target=target, actor=actor, now=utcnow(), reason=reason,
                expected_version=expected), f"Status moved to {STATUS_LABELS[IncidentStatus(target)]}.")
    if view.pausable_clocks and view.is_open:
        if view.paused:
            if st.button("Resume clocks", key="resume"):
                run_change(view.id, lambda s: incidents.resume_clocks(
                    s, incident_id=view.id, actor=actor, now=utcnow(), expected_version=expected), "Clocks resumed.")
        else:
            with st.form("pause"):
                why = st.text_input(f"Pause {', '.join(view.pausable_clocks)} because", key="pause_reason",
                                    max_chars=FREE_TEXT.max_chars,
                                    placeholder="e.g. waiting for the client's export")
                if st.form_submit_button("Pause clocks"):
                    run_change(view.id, lambda s: incidents.pause_clocks(
                        s, incident_id=view.id, reason=why, actor=actor, now=utcnow(), expected_version=expected),
                        "Clocks paused.")


def severity(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """Change the severity with a reason; clocks recompute from the policy snapshot."""
    actor = user.actor
    with st.form("severity_change"):
        options = [s for s in SEVERITIES if s != view.severity]
        new = st.selectbox("New severity", options, key="sev_new")
        reason = st.text_input("Reason", key="sev_reason", max_chars=FREE_TEXT.max_chars,
                               placeholder="e.g. workaround found, impact now minor")
        if st.form_submit_button("Change severity"):
            run_change(view.id, lambda s: incidents.change_severity(
                s, incident_id=view.id, severity=new, reason=reason, actor=actor, now=utcnow(),
                expected_version=expected), f"Severity changed to {new}; clocks recomputed.")


def escalation(view: IncidentView, user: CurrentUser, expected: int, editable: bool) -> None:
    """Required level now, the next escalation due, and the Escalate action with its handoff."""
    esc = view.escalation
    if esc.next_level and esc.next_due_at:
        st.markdown(f"Next escalation: **{markdown_literal(esc.next_level)}** "
                    f"({markdown_literal(view.level_names.get(esc.next_level, ''))}) "
                    f"{local_time(esc.next_due_at, user.time_zone)} if still unresolved.")
    for reason in esc.reasons:
        st.markdown(f"- {markdown_literal(reason)}")
    if esc.contacts:
        st.markdown("**Who to contact at the required level**")
        st.dataframe(pd.DataFrame([c.model_dump(exclude_none=True) for c in esc.contacts]), hide_index=True)
    if editable and view.is_open:
        higher = [lvl for lvl in view.level_names if not view.current_level or lvl > view.current_level]
        if higher:
            with st.form("escalate"):
                target = st.selectbox("Escalate to", higher, key="esc_level",
                                      index=higher.index(esc.required_level) if esc.required_level in higher else 0,
                                      format_func=lambda lvl: f"{lvl} · {view.level_names[lvl]}")
                reason = st.text_area("Why, and what you need from them", key="esc_reason", height=80,
                                      max_chars=FREE_TEXT.max_chars)
                if st.form_submit_button("Escalate", type="primary"):
                    run_change(view.id, lambda s: incidents.escalate(
                        s, incident_id=view.id, to_level=target, reason=reason,
                        actor=user.actor, now=utcnow(), expected_version=expected),
                        f"Escalated to {target}. Handoff summary:")
    for item in view.escalations:
        with st.expander(f"{local_time(item['at'], user.time_zone)} · {markdown_literal(item['from'] or 'none')} → "
                         f"{markdown_literal(item['to'])} by {markdown_literal(item['by'])}"):
            st.code(item["handoff"], language=None)


def _contact_text(contact: Contact) -> str:
    # Whatever the policy gives for the person or list: role, name, email, phone, channel.
    who = f"{contact.role}: {contact.name}" if contact.name else contact.role
    return " · ".join([who, *(v for v in (contact.email, contact.phone, contact.channel) if v)])


def ladder(view: IncidentView, user: CurrentUser) -> None:
    """The escalation ladder: each level the incident needs, required from when, due when, reached when, why, who."""
    steps = view.escalation.ladder
    st.markdown("**Escalation ladder**")
    if not steps:
        st.caption("No escalation level is required by this incident's policy, severity or answers.")
        return
    zone_name = user.time_zone
    # st.table cells are Markdown: the policy's names, reasons and contacts are made literal.
    rows = [{"Level": markdown_literal(f"{step.level} · {step.name}"),
             "Required from": local_time(step.start, zone_name),
             "Due": local_time(step.due, zone_name),
             "Reached": local_time(step.reached_at, zone_name) if step.reached_at else "",
             "State": STATE_ICONS[step.state],
             "Why": markdown_literal(" ".join(step.reasons)),
             "Contacts": markdown_literal("; ".join(_contact_text(c) for c in step.contacts) or "none listed")}
            for step in steps]
    st.table(pd.DataFrame(rows).set_index("Level"))


def level_response(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """Record that a level the incident was escalated to responded, now or at an earlier time with a reason."""
    waiting = list(view.awaiting_response)
    if not waiting:
        return
    actor = user.actor

    def name(level: str) -> str:
        return f"{level} · {view.level_names.get(level, level)}"

    st.markdown("**Levels waiting to respond**: " + markdown_literal(", ".join(name(lvl) for lvl in waiting)))
    cols = st.columns(len(waiting))
    for col, level in zip(cols, waiting, strict=True):
        if col.button(f"{level} responded now", key=f"resp_now_{level}"):
            run_change(view.id, lambda s, lvl=level: incidents.record_level_response(
                s, incident_id=view.id, level=lvl, actor=actor, now=utcnow(), expected_version=expected),
                f"{level}'s response recorded.")
    with st.expander("Record a response at an earlier time"), st.form("past_response"):
        level = st.selectbox("Level", waiting, format_func=name, key="resp_level")
        at, reason = _earlier_time(user, "resp", "e.g. the VP called back at 09:40")
        if st.form_submit_button("Record response"):
            run_change(view.id, lambda s: incidents.record_level_response(
                s, incident_id=view.id, level=level, actor=actor, now=utcnow(), at=at, reason=reason,
                expected_version=expected), f"{level}'s response recorded.")


def client_updates(view: IncidentView, user: CurrentUser) -> None:
    """Every message the client is owed: planned ones at fixed times, then the cadence; which message met each."""
    plan = view.client_plan
    st.markdown("**Client updates**")
    if plan is None or not plan.updates:
        st.caption("The policy plans no message to the client for this incident.")
        return
    now = utcnow()
    zone_name = user.time_zone
    if plan.schedule_title or plan.cadence:
        cadence = f"then every {human_duration(int(plan.cadence.total_seconds()))}" if plan.cadence else ""
        st.caption(markdown_literal(" · ".join(p for p in (plan.schedule_title, cadence) if p)))
    rows = [{"Due": local_time(u.due, zone_name), "Message": markdown_literal(u.title),
             "Sent": local_time(u.sent_at, zone_name) if u.sent_at else "",
             "State": STATE_ICONS[u.state]} for u in plan.updates]
    st.table(pd.DataFrame(rows).set_index("Due"))
    upcoming = next((u for u in plan.updates if u.sent_at is None and u.due == plan.next_due), None)
    if upcoming is not None:
        text = (f"Next to send: {upcoming.title}, due {local_time(upcoming.due, zone_name)} "
                f"({time_left(upcoming.due, now)}).")
        # The message panel below already warns in red when this update is overdue.
        st.caption(markdown_literal(text))
    elif view.is_open:
        st.caption("Nothing more is planned for the client.")


def roles(view: IncidentView, user: CurrentUser, expected: int, people: list[tuple[int, str]], editable: bool) -> None:
    """Who holds each incident role; editable for people who may work on the incident."""
    names = {uid: name for uid, name in people}
    if not editable:
        for role, title in view.roles.items():
            holder = view.assignments.get(role)
            st.markdown(f"**{title}**: {markdown_literal(holder[1]) if holder else 'unassigned'}")
        return
    ids = [0, *names]
    with st.form("incident_roles_form"):
        chosen = {}
        for role, title in view.roles.items():
            current = view.assignments[role][0] if role in view.assignments else 0
            chosen[role] = st.selectbox(title, ids, index=ids.index(current) if current in ids else 0,
                                        format_func=lambda uid: names.get(uid, "unassigned"), key=f"role_{role}")
        if st.form_submit_button("Save roles"):
            changed = {r: c for r, c in chosen.items()
                       if c != (view.assignments[r][0] if r in view.assignments else 0)}

            def assign(session):
                if not changed:
                    raise incidents.IncidentError("No role changed.")
                for index, (role, uid) in enumerate(changed.items()):
                    assignments.assign_role(session, incident_id=view.id, role=role, user_id=uid or None,
                                          actor=user.actor, now=utcnow(),
                                          expected_version=expected if index == 0 else None)

            run_change(view.id, assign, "Roles saved.")


def work_log(view: IncidentView, user: CurrentUser, people: list[tuple[int, str]], editable: bool) -> None:
    """Action items, notes and the append-only timeline."""
    actor = user.actor
    now = utcnow()
    st.markdown("**Action items**")
    for item in view.action_items:
        overdue = item.due_at and not item.done_at and item.due_at < now
        label = (f"{markdown_literal(item.title)} · {markdown_literal(item.owner)} · "
                 f"due {local_time(item.due_at, user.time_zone, '%d %b %H:%M')}"
                 + (" · :red[overdue]" if overdue else ""))
        done = st.checkbox(label, value=item.done_at is not None, key=f"ai_{item.id}", disabled=not editable)
        if editable and done != (item.done_at is not None):
            run_change(view.id, lambda s, i=item, d=done: assignments.set_action_done(
                s, item_id=i.id, done=d, actor=actor, now=utcnow(), expected_version=i.version),
                "Action item updated.")
    if editable:
        names = dict(people)
        with st.form("new_action_item", clear_on_submit=False):
            title = st.text_input("New action item", key="ai_title", max_chars=TITLE.max_chars)
            c1, c2 = st.columns(2)
            owner = c1.selectbox("Owner", list(names), format_func=names.get, key="ai_owner",
                                 index=list(names).index(user.id) if user.id in names else 0)
            due = c2.date_input("Due", value=None, key="ai_due")
            if st.form_submit_button("Add action item"):
                due_at = (dt.datetime.combine(due, dt.time(17, 0), tzinfo=zone(user.time_zone)).astimezone(dt.UTC)
                          if due else None)
                run_change(view.id, lambda s: assignments.add_action_item(
                    s, incident_id=view.id, title=title, owner_id=owner, due_at=due_at, actor=actor, now=utcnow()),
                    "Action item added.")
        with st.form("note", clear_on_submit=False):
            note = st.text_area("Add a note to the timeline", key="note_text", height=70, max_chars=FREE_TEXT.max_chars)
            if st.form_submit_button("Add note"):
                run_change(view.id, lambda s: incidents.add_note(s, incident_id=view.id, text=note, actor=actor,
                                                                 now=utcnow()), "Note added.")
    st.markdown("**Timeline**")
    st.dataframe(pd.DataFrame([{"When": local_time(e.occurred_at, user.time_zone), "Who": e.actor, "What": e.kind,
                                "Details": e.summary} for e in view.timeline]), hide_index=True, width="stretch")


def history(view: IncidentView, user: CurrentUser) -> None:
    """The audit log of field changes (client messages have their own tab)."""
    st.markdown("**Audit log**")
    st.dataframe(pd.DataFrame([{"When": local_time(a["at"], user.time_zone), "Who": a["by"], "Action": a["action"],
                                "Changes": str(a["changes"])} for a in view.audit]), hide_index=True, width="stretch")
