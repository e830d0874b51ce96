"""The On-call page's panels: who is on call now and next, the coming two weeks, covers, swaps, and the
leads' forms for schedules, layers and outside contacts.

Every rule (who may, what is valid, who is on call) is `core.oncall`'s; this module reads through
`db.engine.read_scope`, draws, and saves through `ui.save` (one unit of work; a refused form keeps
what was typed and shows core's message). Times are shown in the viewer's zone; people's names
and reasons are shown as text.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TypeVar

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from core.oncall import schedules, views
from core.oncall.rotation import HOURS, ROTATION_LABELS
from core.oncall.schedules import may_cancel_override, may_edit_schedules
from core.text import markdown_literal
from core.zones import zone
from db.engine import read_scope
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.save import save

T = TypeVar("T")
NO_LEVEL = ""


def read(query: Callable[[Session], T]) -> T:
    """Run a read in its own read-only unit of work."""
    with read_scope() as session:
        return query(session)


def _when(value: dt.datetime, user: CurrentUser) -> str:
    return local_time(value, user.time_zone)


def _instant(day: dt.date, clock: dt.time, user: CurrentUser) -> dt.datetime:
    """A date and time typed in the viewer's zone, as an aware instant."""
    return dt.datetime.combine(day, clock, tzinfo=zone(user.time_zone))


def _shown(shift: views.ShiftView | None, user: CurrentUser, edge: str) -> tuple[str, str]:
    if shift is None:
        return "nobody", "—"
    name = f"{shift.name} (override)" if shift.is_override else shift.name
    return name, _when(shift.ends_at if edge == "end" else shift.starts_at, user)


def on_call_now(user: CurrentUser, now: dt.datetime) -> None:
    """The table of who answers each level's layers now, until when, and who takes over."""
    rows = read(lambda s: views.who_is_on_call_now(s, now))
    if not rows:
        st.info("No schedule yet. A lead or an admin creates one per escalation level below.")
        return
    table = []
    for row in rows:
        current, until = _shown(row.current, user, "end")
        upcoming, starts = _shown(row.next, user, "start")
        if row.next is not None and (row.current is None or row.next.starts_at != row.current.ends_at):
            upcoming = f"{upcoming}, from {starts}"  # a gap: say when the next one starts
        table.append({"Level": row.level or "team", "Schedule": row.schedule_name,
                      "Layer": f"{row.position} · {row.layer_name}", "On call now": current, "Until": until,
                      "Next": upcoming})
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    st.caption(f"Times in {user.time_zone}. \"(override)\": someone covers that stretch instead of the rotation.")


def _layer_label(schedule: views.ScheduleView, layer: views.LayerView) -> str:
    return f"{schedule.name} · {layer.position} {layer.name}"


def _upcoming(session: Session, *, schedule_id: int, position: int, now: dt.datetime) -> list[views.ShiftView]:
    return views.upcoming_shifts(session, schedule_id, position, now)


def timeline(user: CurrentUser, now: dt.datetime, schedule: views.ScheduleView) -> None:
    """The next two weeks of every layer of one schedule, as a chart and a table."""
    local = zone(user.time_zone)
    bars, rows = [], []
    for layer in schedule.layers:
        for shift in read(functools.partial(_upcoming, schedule_id=schedule.id, position=layer.position, now=now)):
            label = f"{layer.position} · {layer.name}"
            # The chart shows the two weeks only: the shift running now and the last one are clipped to them.
            bars.append({"Layer": label, "Who": shift.name,
                         "From": max(shift.starts_at, now).astimezone(local).replace(tzinfo=None),
                         "Until": min(shift.ends_at, now + views.UPCOMING).astimezone(local).replace(tzinfo=None),
                         "Override": "yes" if shift.is_override else ""})
            rows.append({"Layer": label, "Who": shift.name, "From": _when(shift.starts_at, user),
                         "Until": _when(shift.ends_at, user), "Override": "yes" if shift.is_override else ""})
    if not rows:
        st.caption("Nobody on call in the next two weeks: add a layer with members.")
        return
    # Wall-clock times of the viewer's zone, so the axis reads as the table does.
    chart = alt.Chart(pd.DataFrame(bars)).mark_bar().encode(
        x=alt.X("From:T", title=f"Next two weeks ({user.time_zone})"), x2="Until:T",
        y=alt.Y("Layer:N", title=None), color=alt.Color("Who:N"),
        tooltip=["Layer", "Who", alt.Tooltip("From:T", format="%a %d %b %H:%M"),
                 alt.Tooltip("Until:T", format="%a %d %b %H:%M"), "Override"])
    st.altair_chart(chart, width="stretch")
    with st.expander("The same as a table"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _describe_layer(layer: views.LayerView) -> str:
    kind = ROTATION_LABELS.get(layer.rotation, layer.rotation)
    if layer.rotation == HOURS:
        kind = f"shifts of {layer.shift_hours} h"
    members = ", ".join(f"{name} ({where})" if where else name for _, name, where in layer.members)
    return f"**{layer.position} · {markdown_literal(layer.name)}**: {kind}, first handoff " \
           f"{layer.start_local.replace('T', ' ')} " \
           f"{layer.time_zone}; {markdown_literal(members)}"


def schedules_panel(user: CurrentUser, now: dt.datetime) -> None:
    """Each schedule: how its pages climb, its layers and its next two weeks."""
    for schedule in read(views.schedules):
        state = "" if schedule.is_enabled else " · disabled"
        with st.expander(f"{schedule.level or 'Team'} · {markdown_literal(schedule.name)}{state}",
                         expanded=schedule.is_enabled):
            if schedule.description:
                st.text(schedule.description)
            st.markdown(f"A page goes to layer 1, then after {schedule.ack_timeout_minutes} min without an "
                        f"acknowledgement to the next layer, then to the manager "
                        f"(**{markdown_literal(schedule.manager_name or 'none')}**); the chain runs "
                        f"{schedule.repeats} more time(s). An acknowledgement holds {schedule.ack_expires_minutes} "
                        "min.")
            for layer in schedule.layers:
                st.markdown(_describe_layer(layer))
            timeline(user, now, schedule)


def _layer_choices() -> dict[tuple[int, int], str]:
    return {(schedule.id, layer.position): _layer_label(schedule, layer)
            for schedule in read(lambda s: views.schedules(s, include_disabled=False)) for layer in schedule.layers}


def cover_form(user: CurrentUser) -> None:
    """"I cover for Ana on Friday": an override that puts someone on one layer for a while."""
    layers = _layer_choices()
    if not layers:
        return
    people = dict(read(views.people))
    me = f"u:{user.id}"
    with st.form("oncall_cover"):
        st.markdown("**Cover a shift**")
        st.caption("Put yourself on call, or hand a stretch of your own shift to a colleague. Leads and admins may "
                   "place any cover. The newest cover wins where two overlap.")
        keys: list[str] = list(people)
        where = st.selectbox("Layer", list(layers.keys()), format_func=lambda key: layers[key], key="cover_layer")
        who = st.selectbox("Who covers", keys, index=keys.index(me) if me in keys else 0,
                           format_func=lambda key: people[key], key="cover_who")
        left, right = st.columns(2)
        start_day = left.date_input("From (date)", key="cover_start_day")
        start_time = right.time_input("From (time)", value=dt.time(9), key="cover_start_time", step=900)
        end_day = left.date_input("Until (date)", key="cover_end_day")
        end_time = right.time_input("Until (time)", value=dt.time(17), key="cover_end_time", step=900)
        reason = st.text_input("Reason", key="cover_reason", placeholder="I cover for Ana on Friday")
        if st.form_submit_button("Add cover", type="primary") and where is not None:
            save(lambda s: schedules.add_override(
                s, where[0], position=where[1], who=who, starts_at=_instant(start_day, start_time, user),
                ends_at=_instant(end_day, end_time, user), reason=reason, actor=user.actor, now=utcnow()),
                done=f"Cover added: {people.get(who, who)} is on call then.",
                reset=("cover_reason",))
    st.caption(f"Times in {user.time_zone}.")


def swap_form(user: CurrentUser) -> None:
    """Ask a colleague to take a stretch of one's shift; they accept or decline on this page."""
    layers = _layer_choices()
    colleagues = {who: name for who, name in read(views.people) if who.startswith("u:") and who != f"u:{user.id}"}
    if not layers or not colleagues:
        return
    with st.form("oncall_swap"):
        st.markdown("**Ask for a swap**")
        where = st.selectbox("Layer", list(layers.keys()), format_func=lambda key: layers[key], key="swap_layer")
        asked = st.selectbox("Colleague to ask", list(colleagues.keys()), format_func=lambda key: colleagues[key],
                             key="swap_asked")
        left, right = st.columns(2)
        start_day = left.date_input("From (date)", key="swap_start_day")
        start_time = right.time_input("From (time)", value=dt.time(9), key="swap_start_time", step=900)
        end_day = left.date_input("Until (date)", key="swap_end_day")
        end_time = right.time_input("Until (time)", value=dt.time(17), key="swap_end_time", step=900)
        message = st.text_input("Message", key="swap_message", placeholder="Could you take my Friday afternoon?")
        if st.form_submit_button("Ask") and where is not None:
            save(lambda s: schedules.ask_swap(
                s, where[0], position=where[1], asked_id=int(asked.removeprefix("u:")),
                starts_at=_instant(start_day, start_time, user), ends_at=_instant(end_day, end_time, user),
                message=message, actor=user.actor, now=utcnow()),
                done=f"Asked {colleagues.get(asked, asked)}; the swap applies once they accept.",
                reset=("swap_message",))


def swaps_panel(user: CurrentUser) -> None:
    """Swap requests waiting for an answer: Accept or Decline those asked of the viewer, Withdraw their own."""
    pending = read(lambda s: views.pending_swaps(s, user.id))
    if not pending:
        st.caption("No swap request waiting for an answer.")
        return
    for swap in pending:
        when = f"{_when(swap.starts_at, user)} to {_when(swap.ends_at, user)}"
        if swap.asked_id == user.id:
            st.markdown(f"**{markdown_literal(swap.requester_name)}** asks you to cover "
                        f"{markdown_literal(swap.schedule_name)} layer {swap.position}, {when}.")
        else:
            st.markdown(f"You asked **{markdown_literal(swap.asked_name)}** to cover "
                        f"{markdown_literal(swap.schedule_name)} layer {swap.position}, {when}; no answer yet.")
        if swap.message:
            st.text(swap.message)
        columns = st.columns(3)
        if swap.asked_id == user.id:
            if columns[0].button("Accept", key=f"swap_accept_{swap.id}", type="primary"):
                save(functools.partial(_answer_swap, schedules.accept_swap, swap, user),
                     done="Swap accepted: you are on call for that stretch.")
            if columns[1].button("Decline", key=f"swap_decline_{swap.id}"):
                save(functools.partial(_answer_swap, schedules.decline_swap, swap, user), done="Swap declined.")
        elif columns[0].button("Withdraw", key=f"swap_cancel_{swap.id}"):
            save(functools.partial(_answer_swap, schedules.cancel_swap, swap, user), done="Swap request withdrawn.")


def _answer_swap(answer: Callable[..., object], swap: views.SwapView, user: CurrentUser, session: Session) -> object:
    return answer(session, swap.id, actor=user.actor, now=utcnow(), expected_version=swap.version)


def overrides_panel(user: CurrentUser, now: dt.datetime) -> None:
    """Covers running or to come, with Cancel for those the viewer may cancel."""
    live = read(lambda s: views.live_overrides(s, now))
    if not live:
        st.caption("No cover running or planned.")
        return
    for row in live:
        replaced = f" instead of {row.replaces_name}" if row.replaces_name else ""
        left, right = st.columns([5, 1])
        left.markdown(f"**{markdown_literal(row.name)}**{markdown_literal(replaced)} · "
                      f"{markdown_literal(row.schedule_name)} layer {row.position} · {_when(row.starts_at, user)} "
                      f"to {_when(row.ends_at, user)}" + (f" · {markdown_literal(row.reason)}" if row.reason else ""))
        if may_cancel_override(user.actor, created_by_id=row.created_by_id, who=row.who) and \
                right.button("Cancel", key=f"override_cancel_{row.id}"):
            save(functools.partial(_cancel_override, row.id, user), done="Cover cancelled: the rotation applies again.")


def _cancel_override(override_id: int, user: CurrentUser, session: Session) -> object:
    return schedules.cancel_override(session, override_id, actor=user.actor, now=utcnow())


def my_shifts(user: CurrentUser, now: dt.datetime) -> None:
    """The viewer's own shifts over the next two weeks."""
    mine = read(lambda s: views.my_shifts(s, user.id, now))
    if not mine:
        st.caption("You are not on call in the next two weeks.")
        return
    st.dataframe(pd.DataFrame([{"Schedule": m.schedule_name, "Layer": f"{m.position} · {m.layer_name}",
                                "From": _when(m.starts_at, user), "Until": _when(m.ends_at, user),
                                "Cover": "yes" if m.override_id else ""} for m in mine]),
                 hide_index=True, width="stretch")


def may_manage(user: CurrentUser) -> bool:
    """Whether the viewer sees the forms for schedules, layers and outside contacts (core decides)."""
    return may_edit_schedules(user.actor)
