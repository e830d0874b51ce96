"""The admin's alert endpoints: list them (secrets masked), add one, change, disable or re-enable, send a test.

Every rule (who may, what a valid URL, secret or level is) is `core.alerts.endpoints`'; this module
draws the forms and saves through `ui.save`. A secret is typed, never shown back.
"""

from __future__ import annotations

import streamlit as st

from core.alerts.endpoints import (
    KIND_LABELS,
    KINDS,
    LEVELS,
    EndpointError,
    EndpointView,
    add_endpoint,
    change_endpoint,
    list_endpoints,
    send_test,
)
from core.text import markdown_literal
from db.engine import get_engine, read_scope
from ui.auth import CurrentUser, utcnow
from ui.save import queue_toast, save


def endpoints() -> list[EndpointView]:
    """Every endpoint, secrets masked (a read)."""
    with read_scope() as session:
        return list_endpoints(session)


def endpoint_panel(user: CurrentUser) -> None:
    """The list, with each endpoint's change form and test button, then the form for a new one."""
    st.subheader("Endpoints")
    st.caption("Webhooks, Slack, Microsoft Teams and your SMS gateway. An endpoint with levels hears only those "
               "levels' alerts; one without hears every alert. Generic webhooks and SMS gateways need a secret "
               "(at least 16 characters): each request is signed with it (HMAC-SHA256), see the README.")
    for row in endpoints():
        _endpoint(row, user)
    with st.expander("Add an endpoint", icon=":material/add:"), st.form("endpoint_new"):
        name = st.text_input("Name", key="ep_name")
        kind = st.selectbox("Kind", KINDS, format_func=KIND_LABELS.get, key="ep_kind")
        url = st.text_input("URL", key="ep_url", placeholder="https://")
        secret = st.text_input("Secret (generic webhook, SMS)", type="password", key="ep_secret")
        levels = st.multiselect("Levels it hears (none: every alert)", LEVELS, key="ep_levels")
        if st.form_submit_button("Add endpoint", type="primary"):
            save(lambda s: add_endpoint(s, name=name, kind=kind, url=url, secret=secret, levels=levels,
                                        actor=user.actor, now=utcnow()),
                 done=f"Endpoint {name} added.", reset=("ep_name", "ep_url", "ep_secret", "ep_levels"))


def _endpoint(row: EndpointView, user: CurrentUser) -> None:
    state = "enabled" if row.is_enabled else "**disabled**"
    heard = ", ".join(row.levels) or "every alert"
    with st.expander(f"{markdown_literal(row.name)} · {KIND_LABELS[row.kind]} · {state}"):
        st.markdown(f"URL `{markdown_literal(row.url)}` · secret {markdown_literal(row.secret or 'none')} · "
                    f"hears {heard}")
        with st.form(f"endpoint_{row.id}"):
            url = st.text_input("New URL (empty: keep)", key=f"ep_url_{row.id}")
            secret = st.text_input("New secret (empty: keep)", type="password", key=f"ep_secret_{row.id}")
            levels = st.multiselect("Levels it hears", LEVELS, default=[lv for lv in row.levels if lv in LEVELS],
                                    key=f"ep_levels_{row.id}")
            enabled = st.checkbox("Enabled", value=row.is_enabled, key=f"ep_enabled_{row.id}")
            if st.form_submit_button("Save changes"):
                save(lambda s: change_endpoint(s, row.id, expected_version=row.version, actor=user.actor,
                                               now=utcnow(), url=url or None, secret=secret or None,
                                               levels=levels, is_enabled=enabled),
                     done=f"Endpoint {row.name} saved.", reset=(f"ep_url_{row.id}", f"ep_secret_{row.id}"))
        to = st.text_input("Phone number for the test", key=f"ep_to_{row.id}") if row.kind == "sms" else ""
        if st.button("Send a test message", key=f"ep_test_{row.id}", icon=":material/send:"):
            try:
                queue_toast(send_test(get_engine(), row.id, actor=user.actor, now=utcnow(), to=to))
                st.rerun()
            except EndpointError as error:
                st.error(markdown_literal(error))
