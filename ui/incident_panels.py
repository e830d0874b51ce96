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
from core.incident.lifecycle import MILESTONE_LABELS, Milestone, move_confirmation, severity_confirmation
from core.incident.views import IncidentView, clocks_by_urgency
from core.limits import FREE_TEXT, TITLE
from core.oncall.views import who_is_on_call_now
from core.policy.schema import Contact
from core.text import markdown_literal
from core.vocabulary import SEVERITIES, STATUS_LABELS, ClockState, IncidentStatus
from core.zones import zone
from db.engine import read_scope
from ui.auth import CurrentUser, utcnow
from ui.confirm import confirm
from ui.format import human_duration, local_time, time_left
from ui.incident_actions import run_change

# Every state of the shared enum: clocks, ladder steps and planned client messages read the same way.
STATE_ICONS = {ClockState.MET: "✅ met", ClockState.BREACHED: "🔴 breached", ClockState.RUNNING: "⏳ running",
               ClockState.PAUSED: "⏸ paused", ClockState.PENDING: "⏳ pending", ClockState.STOPPED: "⏹ stopped"}


def clocks(view: IncidentView, user: CurrentUser) -> None:
    """Every SLA clock, most urgent first: target, deadline, time left or overdue, state."""
    now = utcnow()
    # st.table cells are Markdown: a level response clock's label carries the policy's level name.
    rows = [{"Clock": markdown_literal(c.label), "Target": human_duration(int(c.target.total_seconds())),
             "Deadline": local_time(c.deadline, user.time_zone),
             "Stopped": local_time(c.stopped_at, user.time_zone) if c.stopped_at else "",
             "Time left": "" if c.stopped_at else time_left(c.deadline, now),
             "State": STATE_ICONS[c.state]} for c in clocks_by_urgency(view.clocks)]
    if not rows:
        # A policy may set no target at all for a severity (red-status's P3): say so, nothing is timed.
        st.caption(f"No clock runs: policy {view.policy_name} sets no target for {view.severity}.")
    else:
        # A plain table: small, readable by screen readers and by the browser tests.
        st.table(pd.DataFrame(rows).set_index("Clock"))
    if view.paused:
        st.info(f"Clocks paused: {', '.join(view.pausable_clocks)} are stopped until you resume them.")


def milestones(view: IncidentView, user: CurrentUser, expected: int) -> None:
    """The milestones recorded so far, and recording one at an earlier time with a reason (the cockpit on top
    records them now with one click)."""
    actor = user.actor
    done = {m: view.milestones.get(m.value) for m in Milestone if view.milestones.get(m.value)}
    st.caption("Recorded: " + " · ".join(f"{MILESTONE_LABELS[m]} {local_time(at, user.time_zone, '%d %b %H:%M')}"
                                         for m, at in done.items()))
    later = [m for m in Milestone if m is not Milestone.DETECTED and (
        view.milestones.get(m.value) is None or m is Milestone.CLIENT_NOTIFIED)]
    with st.expander("Record a milestone at an earlier time"), st.form("past_milestone"):
        milestone = st.selectbox("Milestone", later or list(Milestone)[1:],
                                 format_func=lambda m: MILESTONE_LABELS[m], key="past_ms")
        at, reason = _earlier_time(user, "past", "e.g. phoned the client at 09:12, logging it after the call")
        if st.form_submit_button("Record"):
            run_change(view.id, lambda s: incidents.record_milestone(
                s, incident_id=view.id, milestone=milestone, actor=actor, now=utcnow(), at=at, reason=reason,
                expected_version=expected), f"{MILESTONE_LABELS[milestone]} recorded.",
                reset=("past_reason",))


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
    """Move the status along the lifecycle; illegal moves are refused with the allowed ones; closing and
    reopening ask first."""
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
        submitted = st.form_submit_button("Move status")

    def move() -> None:
        run_change(view.id, lambda s: incidents.move_status(
            s, incident_id=view.id, target=target, actor=actor, now=utcnow(), reason=reason,
            expected_version=expected), f"Status moved to {STATUS_LABELS[IncidentStatus(target)]}.",
            reset=("status_reason",))

    # Only an allowed move asks: core refuses the others at once, with the moves that are allowed.
    question = move_confirmation(target) if target in view.allowed_moves else None
    if question:
        confirm(question, yes_label=f"Yes, {STATUS_LABELS[IncidentStatus(target)].lower()}", key=f"move_{target}",
                apply=move, ask=submitted)
    elif submitted:
        move()
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
    """Change the severity with a reason; clocks recompute from the policy snapshot; lowering it asks first."""
    actor = user.actor
    with st.form("severity_change"):
        options = [s for s in SEVERITIES if s != view.severity]
        new = st.selectbox("New severity", options, key="sev_new")
        reason = st.text_input("Reason", key="sev_reason", max_chars=FREE_TEXT.max_chars,
                               placeholder="e.g. workaround found, impact now minor")
        submitted = st.form_submit_button("Change severity")

    def change() -> None:
        run_change(view.id, lambda s: incidents.change_severity(
            s, incident_id=view.id, severity=new, reason=reason, actor=actor, now=utcnow(),
            expected_version=expected), f"Severity changed to {new}; clocks recomputed.", reset=("sev_reason",))

    # A reason is asked for before the question: a refusal for a missing reason needs no confirmation.
    question = severity_confirmation(view.severity, new, floor=view.severity_floor) if reason.strip() else None
    if question:
        confirm(question, yes_label=f"Yes, lower it to {new}", key=f"severity_{new}", apply=change, ask=submitted)
    elif submitted:
        change()


def escalation(view: IncidentView, user: CurrentUser, expected: int, editable: bool) -> None:
    """Required level now, the next escalation due, and the Escalate action with its handoff."""
    esc = view.escalation
    if esc.next_level and esc.next_due_at:
        st.markdown(f"Next escalation: **{markdown_literal(esc.next_level)}** "
                    f"({markdown_literal(view.level_names.get(esc.next_level, ''))}) "
                    f"{local_time(esc.next_due_at, user.time_zone)} if still unresolved.")
    for reason in esc.reasons:
        st.markdown(f"- {markdown_literal(reason)}")
    on_call_now(view, user)
    contacts(view)
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
                        f"Escalated to {target}. Handoff summary:", reset=("esc_reason",))
    for item in view.escalations:
        with st.expander(f"{local_time(item['at'], user.time_zone)} · {markdown_literal(item['from'] or 'none')} → "
                         f"{markdown_literal(item['to'])} by {markdown_literal(item['by'])}"):
            st.code(item["handoff"], language=None)


# Said where the policy leaves a way of reaching someone out, so nobody hunts for a number that is not there.
NOT_IN_POLICY = "not in the policy"


def on_call_now(view: IncidentView, user: CurrentUser) -> None:
    """Who answers each of the policy's levels right now, from the on-call schedules (pages go to them)."""
    levels = {level for level, _, _ in view.level_contacts} | set(view.level_names)
    with read_scope() as session:
        layers = [layer for layer in who_is_on_call_now(session, utcnow()) if layer.level in levels]
    if not layers:
        return
    rows = [{"Level": f"{layer.level} · {view.level_names.get(layer.level or '', '')}",
             "Layer": f"{layer.position}. {layer.layer_name}",
             "On call now": layer.current.name if layer.current else "nobody",
             "Until": local_time(layer.current.ends_at, user.time_zone) if layer.current else "",
             "Then": layer.next.name if layer.next else ""}
            for layer in sorted(layers, key=lambda item: (item.level or "", item.position))]
    st.markdown("**On call now** (a level's alerts page these people first, then its manager)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def contacts(view: IncidentView) -> None:
    """Who to call at every escalation level: role, name, phone, email, channel and hours, from the policy;
    what the policy does not give is said, with where an admin adds it."""
    rows = [{"Level": f"{level} · {name}", "Role": c.role, "Name": c.name or NOT_IN_POLICY,
             "Phone": c.phone or NOT_IN_POLICY, "Email": c.email or NOT_IN_POLICY,
             "Chat or channel": c.channel or "", "Escalates to": c.escalation or "",
             "Hours": "; ".join(f"{a.coverage.replace('_', ' ')} for {', '.join(a.severities)}"
                                for a in c.availability)}
            for level, name, people in view.level_contacts for c in people]
    st.markdown("**Who to call at each level**")
    if not rows:
        st.caption("The policy names no contact for any level: an admin adds them on the Policies page.")
        return
    # A dataframe shows its cells as plain text: the policy's names and numbers stay literal.
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    # A role mailbox with a phone number is reachable without a name; a role with neither is not.
    missing = sorted({r["Level"] for r in rows if r["Phone"] == NOT_IN_POLICY and r["Email"] == NOT_IN_POLICY})
    if missing:
        st.caption(f"{len(missing)} level{'s' if len(missing) != 1 else ''} without a phone or email in "
                   f"{view.policy_name} ({', '.join(level.split(' · ')[0] for level in missing)}): an admin adds "
                   "them to the level's contacts on the Policies page.")


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
                    "Action item added.", reset=("ai_title", "ai_due"))
        with st.form("note", clear_on_submit=False):
            note = st.text_area("Add a note to the timeline", key="note_text", height=70, max_chars=FREE_TEXT.max_chars)
            if st.form_submit_button("Add note"):
                run_change(view.id, lambda s: incidents.add_note(s, incident_id=view.id, text=note, actor=actor,
                                                                 now=utcnow()), "Note added.", reset=("note_text",))
    st.markdown("**Timeline**")
    st.dataframe(pd.DataFrame([{"When": local_time(e.occurred_at, user.time_zone), "Who": e.actor, "What": e.kind,
                                "Details": e.summary} for e in view.timeline]), hide_index=True, width="stretch")


def history(view: IncidentView, user: CurrentUser) -> None:
    """The audit log of field changes (client messages have their own tab)."""
    st.markdown("**Audit log**")
    st.dataframe(pd.DataFrame([{"When": local_time(a["at"], user.time_zone), "Who": a["by"], "Action": a["action"],
                                "Changes": str(a["changes"])} for a in view.audit]), hide_index=True, width="stretch")
