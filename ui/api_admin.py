"""The admin's API access forms: tokens, alert sources and account routing keys.

Every rule (who may, valid names, scopes, settings) is `core.api`'s and `core.account.routing`'s;
this module draws the tables and forms and saves through `ui.save`. A new token or source secret is
shown once, right after the save that made it, and never again.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.account.routing import set_routing_key
from core.api import sources, tokens
from core.api.views import AccessPage
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.save import save

SECRET = "api_admin_secret"  # a new token or source secret, shown once after the save that made it


def show_new_secret() -> None:
    """The secret made by the last save, once."""
    made = st.session_state.pop(SECRET, None)
    if isinstance(made, tokens.NewToken):
        st.success(f"API token {made.id}: copy it now, it is not stored and cannot be shown again.")
        st.code(made.token, language=None)
    elif isinstance(made, sources.NewSource):
        st.success(f"Alert source {made.id}: its new signing secret, for the sender. It is not shown again.")
        st.code(made.secret, language=None)


def tokens_panel(page: AccessPage, user: CurrentUser) -> None:
    """The tokens (never their secrets), a form to make one and one to revoke one."""
    now = utcnow()
    if page.tokens:
        st.dataframe(pd.DataFrame([{
            "Id": t.id, "Name": t.name, "Starts with": t.prefix + "…", "Scope": t.scope, "Acts as": t.username,
            "State": t.state(now),
            "Expires": local_time(t.expires_at, user.time_zone, "%Y-%m-%d %H:%M") if t.expires_at else "never",
            "Last used": local_time(t.last_used_at, user.time_zone, "%Y-%m-%d %H:%M") if t.last_used_at else "never",
        } for t in page.tokens]), hide_index=True, width="stretch")
    else:
        st.info("No API tokens yet.")
    st.caption("Scopes: **intake** sends alerts only; **read** reads only; **write** reads, sends alerts and "
               "changes incidents.")
    with st.form("token_new"):
        name = st.text_input("Name", key="tok_name", placeholder="e.g. grafana-prod")
        scope = st.selectbox("Scope", [s.value for s in tokens.Scope], key="tok_scope")
        username = st.selectbox("Acts as", page.usernames, key="tok_user")
        days = st.number_input("Expires after (days, 0: never)", min_value=0, max_value=tokens.MAX_EXPIRY_DAYS,
                               value=0, step=1, key="tok_days")
        if st.form_submit_button("Make token", type="primary"):
            save(lambda s: tokens.create(s, name=name, scope=scope, username=username or "", actor=user.actor,
                                         now=utcnow(), expires_in_days=int(days) or None),
                 done=f"API token {name.strip()} made.", reset=("tok_name",), keep=SECRET)
    active = [t for t in page.tokens if t.state(now) == "active"]
    if active:
        with st.form("token_revoke"):
            labels = {t.id: f"{t.id} · {t.name} ({t.scope}, {t.username})" for t in active}
            chosen = st.selectbox("Token to revoke", list(labels), format_func=labels.__getitem__, key="tok_revoke")
            if st.form_submit_button("Revoke"):
                save(lambda s: tokens.revoke(s, token_id=int(chosen), actor=user.actor, now=utcnow()),
                     done=f"API token {labels[chosen]} revoked.")


_EXAMPLE = {"mapping": {"dedup_key": "ticket.id", "title": "ticket.subject", "summary": "ticket.description",
                        "routing_key": "ticket.organization.external_id", "severity": "ticket.priority",
                        "severity_values": {"urgent": "critical", "high": "error", "normal": "warning", "low": "info"},
                        "action": "ticket.status", "action_values": {"solved": "resolve", "closed": "resolve"}},
            "policy": None}


def sources_panel(page: AccessPage, user: CurrentUser) -> None:
    """The alert sources and a form to add one (its settings as JSON)."""
    if page.sources:
        st.dataframe(pd.DataFrame([{
            "Name": s.name, "Webhook": f"/api/v1/sources/{s.name}/events", "Acts as": s.username,
            "Signature header": s.signature_header, "Enabled": s.is_enabled, "Policy": s.policy or "team default",
        } for s in page.sources]), hide_index=True, width="stretch")
    else:
        st.info("No alert sources yet: a helpdesk or monitor that sends its own JSON, signed with HMAC-SHA256.")
    with st.form("source_new"):
        name = st.text_input("Name", key="src_name", placeholder="e.g. zendesk")
        username = st.selectbox("Acts as", page.usernames, key="src_user")
        header = st.text_input("Signature header", value="X-Signature", key="src_header")
        settings = st.text_area("Settings (JSON)", value=json.dumps(_EXAMPLE, indent=2), height=300,
                                key="src_settings", help="Which fields of the sender's JSON give the dedup key, "
                                                         "title, account, severity and action; see the README.")
        if st.form_submit_button("Add source", type="primary"):
            try:
                parsed = json.loads(settings)
            except ValueError as error:
                st.error(f"The settings are not valid JSON: {error}")
            else:
                save(lambda s: sources.add_source(s, name=name, username=username or "", settings=parsed,
                                                  actor=user.actor, now=utcnow(), signature_header=header.strip()),
                     done=f"Alert source {name.strip().lower()} added.", reset=("src_name",), keep=SECRET)


def source_edit_panel(page: AccessPage, user: CurrentUser) -> None:
    """Change an existing source (settings, user, header, enabled) and give it a new secret."""
    if not page.sources:
        return
    st.subheader("Change a source")
    by_name = {s.name: s for s in page.sources}
    name = st.selectbox("Source", list(by_name), key="src_edit_name")
    if name is None:
        return
    chosen = by_name[name]
    # The fields are keyed by the source, so choosing another one shows its own values.
    with st.form(f"source_edit_{chosen.id}"):
        names = page.usernames if chosen.username in page.usernames else [chosen.username, *page.usernames]
        username = st.selectbox("Acts as", names, index=names.index(chosen.username), key=f"src_edit_user_{chosen.id}")
        header = st.text_input("Signature header", value=chosen.signature_header, key=f"src_edit_header_{chosen.id}")
        enabled = st.checkbox("Enabled (a disabled source's webhook answers 404)", value=chosen.is_enabled,
                              key=f"src_edit_enabled_{chosen.id}")
        settings = st.text_area("Settings (JSON)", value=json.dumps(chosen.settings, indent=2), height=300,
                                key=f"src_edit_settings_{chosen.id}")
        if st.form_submit_button("Save source"):
            try:
                parsed = json.loads(settings)
            except ValueError as error:
                st.error(f"The settings are not valid JSON: {error}")
            else:
                save(lambda s: sources.change_source(s, name=chosen.name, actor=user.actor, now=utcnow(),
                                                     settings=parsed, username=username or "",
                                                     signature_header=header.strip(), enabled=enabled),
                     done=f"Alert source {chosen.name} saved.")
    with st.form(f"source_rotate_{chosen.id}"):
        st.caption("A new signing secret replaces the current one at once: events signed with the old one are "
                   "refused until the sender has the new one.")
        if st.form_submit_button("Make a new secret"):
            save(lambda s: sources.rotate_secret(s, name=chosen.name, actor=user.actor, now=utcnow()),
                 done=f"Alert source {chosen.name} has a new secret.", keep=SECRET)


def routing_panel(page: AccessPage, user: CurrentUser) -> None:
    """Each account's routing key, and a form to set or clear one."""
    st.dataframe(pd.DataFrame([{"Account": name, "Routing key": key or ""} for _id, name, key in page.accounts]),
                 hide_index=True, width="stretch")
    if not page.accounts:
        return
    with st.form("routing_key"):
        names = {account_id: name for account_id, name, _key in page.accounts}
        account = st.selectbox("Account", list(names), format_func=names.__getitem__, key="rk_account")
        key = st.text_input("Routing key (empty: remove it)", key="rk_key", placeholder="e.g. acme-prod-7f3k2")
        if st.form_submit_button("Save routing key"):
            save(lambda s: set_routing_key(s, account=str(account), key=key.strip() or None, actor=user.actor,
                                           now=utcnow()),
                 done="Routing key saved.", reset=("rk_key",))
