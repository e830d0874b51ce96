"""Streamlit pieces of the composer and the communication log: field editors, previews, the SMTP password.

The draft lives in widget state keyed by incident and field, so a refused
send, a server that is down or a conflict leaves every edit in place; only a
message that went out (or was marked sent) clears it. The HTML preview runs
in a nested iframe with an empty `sandbox` attribute: no script, form or same-origin
access, whatever an edited template contains. This module must never store
or show the SMTP password.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import os
from typing import Any

import pandas as pd
import streamlit as st

from core.communication import flows as communications
from core.communication.cadence import UpdateDue
from core.communication.fields import MessageContext
from core.communication.flows import ComposeSource, LogEntry
from core.communication.promise import FALLBACK
from core.communication.store import field_kind
from core.text import markdown_literal
from ui.format import local_time, time_left
from ui.links import opening_table, page_link

PASSWORD_SECRET = "smtp_password"
PASSWORD_ENV = "ESCALATION_DESK_SMTP_PASSWORD"
_DRAFT = "draft_{}_{}"
_NOTICE = "compose_notice_{}"
FALLBACK_MINUTES = int(FALLBACK.total_seconds() // 60)


def smtp_password() -> str | None:
    """The SMTP password from st.secrets (`smtp_password`), else the environment; None when neither has it."""
    try:
        value = st.secrets.get(PASSWORD_SECRET)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        value = None
    return str(value) if value else os.environ.get(PASSWORD_ENV) or None


def draft_key(incident_id: int, name: str) -> str:
    """The widget key of one draft field of one incident."""
    return _DRAFT.format(incident_id, name)


def clear_draft(incident_id: int) -> None:
    """Forget every draft field of the incident (after it was sent), so the next message prefills afresh."""
    prefix = _DRAFT.format(incident_id, "")
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


def _as_widget(value: Any, kind: str) -> Any:
    return "\n".join(value) if kind == "lines" else value


def _from_widget(value: Any, kind: str) -> Any:
    if kind == "lines":
        return [line.strip() for line in str(value).splitlines() if line.strip()]
    return value


def field_editors(source: ComposeSource, fields: list[str], required: tuple[str, ...]) -> dict[str, Any]:
    """One input per field the template uses, prefilled from the record; returns what the person typed."""
    help_text = {name: info.description for name, info in MessageContext.model_fields.items()}
    edits: dict[str, Any] = {}
    columns = st.columns(2)
    for index, name in enumerate(fields):
        kind = field_kind(name)
        key = draft_key(source.incident_id, name)
        if key not in st.session_state:
            st.session_state[key] = _as_widget(getattr(source.context, name), kind)
        label = name.replace("_", " ").capitalize() + (" *" if name in required else "")
        with columns[index % 2]:
            if kind == "flag":
                value = st.checkbox(label, key=key, help=help_text[name])
            elif kind == "number":
                value = st.number_input(label, min_value=1, max_value=10_000, step=1, key=key, help=help_text[name])
            elif kind in ("text", "lines"):
                value = st.text_area(label, key=key, height=100, help=help_text[name]
                                     + (" One item per line." if kind == "lines" else ""))
            else:
                value = st.text_input(label, key=key, help=help_text[name])
        edits[name] = _from_widget(value, kind)
    return edits


def update_promise_notice(source: ComposeSource, computed: list[str], time_zone: str, now: dt.datetime) -> None:
    """In red when the client update is overdue or the plan's next one will be late; the times worked out at render."""
    due, promise, context = source.next_update_due_at, source.promise, source.context
    if due is not None and due < now:
        st.error(f"Overdue: the client update was due {local_time(due, time_zone)} ({time_left(due, now)}). "
                 "The client is waiting: send this message now.")
    if "next_update_at" in computed and promise.late and promise.plan_due is not None:
        why = "already past" if promise.plan_due < now else "too soon to promise"
        st.error(f"Late plan entry: the plan wants the next update by {local_time(promise.plan_due, time_zone)} "
                 f"({time_left(promise.plan_due, now)}), {why}. This message promises "
                 f"{local_time(promise.at, time_zone)} instead ({FALLBACK_MINUTES} minutes from now; the client "
                 f"reads {context.next_update_at}), so that plan entry will show as late.")
    shown = [f"{name.replace('_', ' ').capitalize()}: {getattr(context, name) or 'none'}" for name in computed]
    if shown:
        st.caption("Worked out each time the message is rendered, in the client's zone: " + "; ".join(shown) + ".")


def recipients_input(source: ComposeSource, channel: str) -> tuple[list[str], list[str]]:
    """To and Cc for an email, whom was called for a phone script, who got an internal note."""
    # One key per channel: an email's address list and a phone number never overwrite each other.
    to_key, cc_key = draft_key(source.incident_id, f"_to_{channel}"), draft_key(source.incident_id, "_cc")
    if channel == "email":
        st.session_state.setdefault(to_key, "\n".join(source.default_recipients))
        left, right = st.columns(2)
        to = left.text_area("To (one address per line)", key=to_key, height=80)
        cc = right.text_area("Cc (one address per line)", key=cc_key, height=80)
        known = [c.address for c in source.contacts if c.address]
        if known:
            st.caption("Contacts on file: " + " · ".join(markdown_literal(a) for a in known))
        return _lines(to), _lines(cc)
    primary = next((c for c in source.contacts if c.is_primary), source.contacts[0] if source.contacts else None)
    default = (", ".join(x for x in (primary.name, primary.phone) if x) if primary and channel == "phone" else "")
    st.session_state.setdefault(to_key, default)
    label = "Whom you called (name and number)" if channel == "phone" else "Shared with (team or people)"
    return [st.text_input(label, key=to_key)], []


def _lines(text: str) -> list[str]:
    # One address per line: a display name may itself contain a comma ("Martin, Ana" <ana@...>).
    return [line.strip() for line in text.splitlines() if line.strip()]


def html_preview(html: str, height: int = 620) -> None:
    """The HTML part as the client's mail program shows it, inside a fully sandboxed iframe."""
    frame = (f'<iframe title="Email preview" sandbox="" referrerpolicy="no-referrer" '
             f'srcdoc="{html_lib.escape(html, quote=True)}" '
             f'style="width:100%;height:{height - 20}px;border:1px solid #dde1e6;border-radius:4px;'
             f'background:#fff"></iframe>')
    st.iframe(frame, height=height, alt="Email preview")


def set_notice(incident_id: int, text: str) -> None:
    """Remember what was sent, to show once after the rerun."""
    st.session_state[_NOTICE.format(incident_id)] = text


def drill_warning(is_drill: bool) -> None:
    """On a drill incident, a warning before anything is written: a real client must not receive an exercise."""
    if is_drill:
        st.warning("**DRILL** · This incident is an exercise. Send nothing to a real client about it: practise "
                   "on an internal address, or copy the text without sending it.", icon=":material/sports_score:")


def pop_notice(incident_id: int) -> str | None:
    """The last send or log confirmation for this incident, once."""
    return st.session_state.pop(_NOTICE.format(incident_id), None)


def communication_log(entries: list[LogEntry], time_zone: str) -> None:
    """Every logged message: when, who, channel, recipients, subject, and its exact text on demand."""
    if not entries:
        st.caption("No message to the client is logged yet.")
        return
    for entry in entries:
        title = (f"{local_time(entry.sent_at, time_zone)} · {communications.CHANNELS.get(entry.channel, entry.channel)}"
                 f" · {markdown_literal(entry.sent_by)} → {markdown_literal(', '.join(entry.recipients))}"
                 + (f" · {markdown_literal(entry.subject)}" if entry.subject else ""))
        with st.expander(title):
            version = f"version {entry.template_version}" if entry.template_version else "shipped text"
            st.caption(f"{communications.DELIVERIES.get(entry.delivery, entry.delivery).capitalize()} · template "
                       f"`{entry.template_key or 'none'}` ({version})")
            st.code(entry.body_text, language=None, wrap_lines=True)
            if entry.body_html:
                html_preview(entry.body_html, height=420)


def updates_due_panel(rows: list[UpdateDue], time_zone: str, now: Any, *, team: bool) -> None:
    """Home: the client updates due within the hour (overdue first); a row opens the composer for it in this tab."""
    st.subheader("Client updates due in the next hour" + (" across the team" if team else ""))
    if not rows:
        st.success("No client update is due in the next hour.")
        return
    overdue = sum(1 for r in rows if r.overdue(now))
    if overdue:
        st.error(f"{overdue} client update{'s are' if overdue != 1 else ' is'} overdue: the client is waiting.")
    opening_table(pd.DataFrame([{
        "ID": r.incident_id, "Severity": r.severity, "Account": r.account,
        "Title": r.title, "Owner": r.owner, "Due": local_time(r.due_at, time_zone), "In": time_left(r.due_at, now),
        "Overdue": r.overdue(now), "First notice": r.first_notice} for r in rows]), [r.incident_id for r in rows],
        key="home_updates_due", target="compose", hint="Tick a row's box to write that update.",
        column_config={"Overdue": st.column_config.CheckboxColumn("Overdue"),
                       "First notice": st.column_config.CheckboxColumn("First notice")})


def incident_messages(incident_id: int, entries: list[LogEntry], due_at: Any, time_zone: str, now: Any, *,
                      editable: bool) -> None:
    """The incident page's client messages: when the next update is due, a link to write it, the log."""
    if due_at is not None:
        text = f"Next client update due {local_time(due_at, time_zone)} ({time_left(due_at, now)})."
        (st.error if due_at < now else st.info)(("Overdue: " if due_at < now else "") + text)
    if editable:
        page_link("compose", "Write to the client", query={"id": incident_id}, icon="✉️")
    communication_log(entries, time_zone)
