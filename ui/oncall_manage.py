"""The leads' and admins' forms on the On-call page: schedules, their layers, and outside contacts.

Every rule and permission is `core.oncall.schedules`' and `core.oncall.contacts`'; these forms read
widgets, pass what was typed and save through `ui.save`, so a refused form keeps its values and
shows core's message. An edit carries the version it was loaded at: a stale one is refused.
"""

from __future__ import annotations

import datetime as dt
import functools

import streamlit as st
from sqlalchemy.orm import Session

from core.oncall import contacts, schedules, views
from core.oncall.rotation import FOLLOW_THE_SUN, HOURS, ROTATION_LABELS, ROTATIONS
from core.oncall.schedules import LEVELS
from core.text import markdown_literal
from ui.auth import CurrentUser, utcnow
from ui.forms import time_zone_options
from ui.oncall import read
from ui.save import save

NONE = ""


def _level_label(level: str) -> str:
    return level or "None (a team schedule)"


def _schedule_fields(prefix: str, people: dict[str, str], row: views.ScheduleView | None) -> dict[str, object]:
    """The schedule's fields as widgets (inside a form), filled with `row`'s values when editing."""
    zones = time_zone_options()
    managers = [NONE, *people]
    level_options = [NONE, *LEVELS]
    fields: dict[str, object] = {
        "name": st.text_input("Name", value=row.name if row else "", key=f"{prefix}_name",
                              placeholder="L1 technical lead on call"),
        "level": st.selectbox("Escalation level it answers", level_options, format_func=_level_label,
                              index=level_options.index(row.level or NONE) if row else 1, key=f"{prefix}_level")
        or None,
        "time_zone": st.selectbox("Time zone", zones, index=zones.index(row.time_zone) if row and row.time_zone in
                                  zones else 0, key=f"{prefix}_zone"),
        "manager": st.selectbox("Manager (paged after every layer)", managers,
                                format_func=lambda who: people.get(who, "None") if who else "None",
                                index=managers.index(row.manager) if row and row.manager in managers else 0,
                                key=f"{prefix}_manager"),
    }
    left, middle, right = st.columns(3)
    fields["ack_timeout_minutes"] = left.number_input(
        "Minutes to acknowledge", min_value=1, max_value=60, value=row.ack_timeout_minutes if row else 5,
        key=f"{prefix}_timeout")
    fields["repeats"] = middle.number_input("Repeats of the chain", min_value=0, max_value=5,
                                            value=row.repeats if row else 2, key=f"{prefix}_repeats")
    fields["ack_expires_minutes"] = right.number_input(
        "Acknowledgement holds (minutes)", min_value=5, max_value=720, value=row.ack_expires_minutes if row else 30,
        key=f"{prefix}_expires")
    fields["description"] = st.text_area("Description", value=row.description if row else "",
                                         key=f"{prefix}_description", height=68)
    return fields


def _create(fields: dict[str, object], user: CurrentUser, session: Session) -> object:
    return schedules.create_schedule(session, **fields, actor=user.actor, now=utcnow())  # type: ignore[arg-type]


def _update(schedule: views.ScheduleView, fields: dict[str, object], user: CurrentUser, session: Session) -> object:
    return schedules.update_schedule(session, schedule.id, expected_version=schedule.version, actor=user.actor,
                                     now=utcnow(), **fields)  # type: ignore[arg-type]


def schedule_forms(user: CurrentUser) -> None:
    """A form per schedule (change, disable) with its layers' forms, then the form for a new schedule."""
    people = dict(read(views.people))
    for schedule in read(views.schedules):
        with st.expander(f"Edit {schedule.level or 'team'} · {markdown_literal(schedule.name)}"):
            with st.form(f"schedule_{schedule.id}"):
                fields = _schedule_fields(f"sch{schedule.id}", people, schedule)
                fields["is_enabled"] = st.checkbox("Enabled (pages go to it)", value=schedule.is_enabled,
                                                   key=f"sch{schedule.id}_enabled")
                if st.form_submit_button("Save schedule"):
                    save(functools.partial(_update, schedule, fields, user), done=f"Schedule {fields['name']} saved.")
            for layer in schedule.layers:
                _layer_form(user, schedule, layer, people)
            _layer_form(user, schedule, None, people)
    with st.expander("New schedule", icon=":material/add:"), st.form("schedule_new"):
        fields = _schedule_fields("sch_new", people, None)
        if st.form_submit_button("Create schedule", type="primary"):
            save(functools.partial(_create, fields, user), done=f"Schedule {fields['name']} created; add its layers.",
                 reset=[f"sch_new_{k}" for k in ("name", "description")])


def _members(whos: list[str], sun_lines: str, kind: str) -> list[object]:
    """The members as core reads them: who strings, or (who, zone, HH:MM) for follow-the-sun."""
    if kind != FOLLOW_THE_SUN:
        return list(whos)
    lines = [line.split() for line in sun_lines.splitlines() if line.strip()]
    return [(who, *(lines[index] if index < len(lines) else [])) for index, who in enumerate(whos)]


def _save_layer(schedule: views.ScheduleView, layer: views.LayerView | None, fields: dict[str, object],
                user: CurrentUser, session: Session) -> object:
    if layer is None:
        return schedules.add_layer(session, schedule.id, **fields, actor=user.actor,  # type: ignore[arg-type]
                                   now=utcnow())
    return schedules.update_layer(session, layer.id, expected_version=layer.version, actor=user.actor,
                                  now=utcnow(), **fields)  # type: ignore[arg-type]


def _remove_layer(layer: views.LayerView, user: CurrentUser, session: Session) -> None:
    schedules.remove_layer(session, layer.id, expected_version=layer.version, actor=user.actor, now=utcnow())


def _layer_form(user: CurrentUser, schedule: views.ScheduleView, layer: views.LayerView | None,
                people: dict[str, str]) -> None:
    prefix = f"layer{layer.id}" if layer else f"layer_new{schedule.id}"
    zones = time_zone_options()
    first = dt.datetime.fromisoformat(layer.start_local) if layer else dt.datetime.combine(dt.date.today(),
                                                                                           dt.time(9))
    st.markdown(f"**Layer {layer.position}: {markdown_literal(layer.name)}**" if layer else "**Add a layer**")
    with st.form(prefix):
        name = st.text_input("Layer name", value=layer.name if layer else "", key=f"{prefix}_name",
                             placeholder="Primary")
        kind = st.selectbox("Rotation", ROTATIONS, format_func=lambda k: ROTATION_LABELS[k],
                            index=ROTATIONS.index(layer.rotation) if layer else 1, key=f"{prefix}_rotation")
        left, middle, right = st.columns(3)
        day = left.date_input("First handoff (date)", value=first.date(), key=f"{prefix}_day")
        clock = middle.time_input("First handoff (time)", value=first.time(), key=f"{prefix}_time", step=900)
        hours = right.number_input("Shift hours (for shifts of N hours)", min_value=1, max_value=168,
                                   value=layer.shift_hours if layer else 12, key=f"{prefix}_hours")
        zone_name = st.selectbox("Handoff time zone", zones,
                                 index=zones.index(layer.time_zone if layer else schedule.time_zone)
                                 if (layer.time_zone if layer else schedule.time_zone) in zones else 0,
                                 key=f"{prefix}_zone")
        whos = st.multiselect("Members, in rotation order", list(people.keys()), format_func=lambda w: people[w],
                              default=[who for who, _, _ in layer.members if who in people] if layer else [],
                              key=f"{prefix}_members")
        sun = st.text_area("Follow the sun: each member's zone and start, one line each in the order above",
                           value="\n".join(where.replace(" from ", " ") for _, _, where in layer.members if where)
                           if layer else "", placeholder="Asia/Tokyo 08:00\nEurope/London 08:00",
                           key=f"{prefix}_sun", height=90)
        position = st.number_input("Position (1 primary, 2 secondary...)", min_value=1, max_value=9,
                                   value=layer.position if layer else len(schedule.layers) + 1,
                                   key=f"{prefix}_position")
        submitted = st.form_submit_button("Save layer" if layer else "Add layer")
    if submitted:
        fields: dict[str, object] = {
            "name": name, "rotation_kind": kind, "start_local": dt.datetime.combine(day, clock),
            "time_zone": zone_name, "members": _members(whos, sun, kind),
            "shift_hours": int(hours) if kind == HOURS or layer else 24, "position": int(position)}
        save(functools.partial(_save_layer, schedule, layer, fields, user),
             done=f"Layer {name} saved.", reset=[] if layer else [f"{prefix}_name", f"{prefix}_members"])
    if layer is not None and st.button("Remove this layer", key=f"{prefix}_remove", icon=":material/delete:"):
        save(functools.partial(_remove_layer, layer, user), done=f"Layer {layer.name} removed.")


def _save_contact(contact: contacts.ContactView | None, fields: dict[str, object], user: CurrentUser,
                  session: Session) -> object:
    if contact is None:
        return contacts.add_contact(session, **fields, actor=user.actor, now=utcnow())  # type: ignore[arg-type]
    return contacts.change_contact(session, contact.id, expected_version=contact.version, actor=user.actor,
                                   now=utcnow(), **fields)  # type: ignore[arg-type]


def _contact_form(user: CurrentUser, contact: contacts.ContactView | None, hooks: dict[int | None, str]) -> None:
    prefix = f"contact{contact.id}" if contact else "contact_new"
    with st.form(prefix):
        fields: dict[str, object] = {
            "name": st.text_input("Name", value=contact.name if contact else "", key=f"{prefix}_name"),
            "organisation": st.text_input("Organisation or role", value=contact.organisation if contact else "",
                                          key=f"{prefix}_org"),
            "email": st.text_input("Email", value=contact.email if contact else "", key=f"{prefix}_email"),
            "phone": st.text_input("Phone (for SMS)", value=contact.phone if contact else "", key=f"{prefix}_phone"),
            "endpoint_id": st.selectbox("Webhook that reaches them", list(hooks.keys()),
                                        format_func=lambda key: hooks[key],
                                        index=list(hooks).index(contact.endpoint_id) if contact and
                                        contact.endpoint_id in hooks else 0, key=f"{prefix}_hook"),
            "notes": st.text_area("Notes", value=contact.notes if contact else "", key=f"{prefix}_notes", height=68),
        }
        if contact is not None:
            fields["is_enabled"] = st.checkbox("Enabled (may be paged)", value=contact.is_enabled,
                                               key=f"{prefix}_enabled")
        if st.form_submit_button("Save contact" if contact else "Add contact", type="secondary" if contact
                                 else "primary"):
            save(functools.partial(_save_contact, contact, fields, user), done=f"Contact {fields['name']} saved.",
                 reset=[] if contact else [f"{prefix}_{k}" for k in ("name", "org", "email", "phone", "notes")])


def contacts_panel(user: CurrentUser) -> None:
    """Outside contacts (executives, partners): each one's form, then the form for a new one."""
    st.caption("People paged who do not sign in. Put them in a layer or make one a schedule's manager; their "
               "pages arrive by email, SMS or webhook, with a link that acknowledges that page only.")
    hooks: dict[int | None, str] = {None: "None", **dict(read(contacts.webhook_endpoints))}
    for contact in read(contacts.list_contacts):
        state = "" if contact.is_enabled else " · disabled"
        with st.expander(f"{markdown_literal(contact.name)} · "
                         f"{markdown_literal(contact.organisation or 'outside contact')}{state}"):
            _contact_form(user, contact, hooks)
    with st.expander("Add an outside contact", icon=":material/add:"):
        _contact_form(user, None, hooks)
