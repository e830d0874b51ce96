"""The incident's status page subscribers: who hears of updates, adding and removing them.

Lists the subscribers by tier (internal stakeholders, email with their state, webhooks). Whoever
may publish the page (core's `check_may_publish`) adds an account contact or any address (which
gets a confirmation email: double opt-in), a webhook (its signing secret is shown once), or a
stakeholder, and removes one after a confirmation. Everyone else sees the list with addresses
masked (first letter and domain) and webhook URLs cut to their host: a client's addresses are
personal data that only the people writing to the client need, and a webhook URL often holds a
secret. Nothing here queries or decides a rule: `core.statuspage.subscriptions` does.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.statuspage import subscriptions as subs
from core.text import markdown_literal
from db.engine import read_scope
from ui.app_address import base_url
from ui.auth import CurrentUser, utcnow
from ui.confirm import confirm
from ui.format import local_time
from ui.save import save

_SECRET = "status_webhook_secret"
_TIERS = (("internal", "Internal stakeholders", "Every update, in the app and by email."),
          ("email", "Email subscribers", "Client-facing updates when you choose to notify; they confirm first."),
          ("webhook", "Webhooks", "Client-facing updates as signed JSON when you choose to notify."))
_STATES = {"pending": "waiting for confirmation", "active": "active", "unsubscribed": "unsubscribed"}


def subscribers_section(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """The status page tab's subscribers section."""
    st.subheader("Subscribers")
    with read_scope() as session:
        panel = subs.subscriber_panel(session, incident_id, user.actor)
    if not panel.has_page:
        st.info("This incident has no status page yet, so nobody can subscribe: publish one above first.")
        return
    manage = editable and panel.may_manage
    shown = _show_secret_once()
    for kind, title, meaning in _TIERS:
        rows = [row for row in panel.subscribers if row.kind == kind]
        st.markdown(f"**{title}** ({len(rows)})")
        st.caption(meaning)
        if not rows:
            st.caption("None yet.")
        for row in rows:
            _row(incident_id, row, user, manage)
    if not manage:
        st.caption("Addresses are masked: only those who write to this client see them and change the list.")
        return
    if shown:
        st.success(markdown_literal(f"Webhook added. Its signing secret, shown only now: {shown}"))
    _add_email(incident_id, panel, user)
    _add_webhook(incident_id, user)
    _add_stakeholder(incident_id, panel, user)


def _show_secret_once() -> str:
    # save() keeps the secret across its rerun; popped here, so the next run no longer shows it.
    return str(st.session_state.pop(_SECRET, "") or "")


def _row(incident_id: int, row: subs.SubscriberRow, user: CurrentUser, manage: bool) -> None:
    who = (row.user_name if row.kind == "internal" else row.address) if manage else subs.masked(row)
    since = row.confirmed_at or row.created_at
    text, action = st.columns([5, 1], vertical_alignment="center")
    text.markdown(markdown_literal(f"{who} · {_STATES.get(row.state, row.state)} · since "
                                   f"{local_time(since, user.time_zone)}"))
    if manage and row.state != "unsubscribed":
        clicked = action.button("Remove", key=f"status_sub_remove_{row.id}", icon=":material/person_remove:")
        confirm(f"Stop sending status page updates to {who}?", yes_label="Remove", key=f"status_sub_rm_{row.id}",
                ask=clicked, apply=lambda: save(
                    lambda s: subs.remove(s, subscriber_id=row.id, actor=user.actor, now=utcnow()),
                    done=f"{who} gets no more updates."))


def _add_email(incident_id: int, panel: subs.SubscriberPanel, user: CurrentUser) -> None:
    with st.expander("Add an email subscriber", icon=":material/mail:"):
        st.caption("They get a confirmation email and receive updates only once they confirm.")
        with st.form("status_sub_email", clear_on_submit=False):
            contacts = {address: label for label, address in panel.contacts}
            contact = st.selectbox("One of the account's contacts", list(contacts), index=None,
                                   format_func=lambda a: f"{contacts[a]} <{a}>", key="status_sub_contact",
                                   placeholder="Pick a contact")
            typed = st.text_input("Or any email address", key="status_sub_address",
                                  placeholder="name@client.example")
            if st.form_submit_button("Send the confirmation email"):
                address = typed.strip() or contact or ""
                if not address:
                    st.error("Pick a contact or type an address first.")
                    return
                save(lambda s: _invite(s, incident_id, address, user),
                     done=f"Confirmation email queued for {address}.",
                     reset=["status_sub_contact", "status_sub_address"])


def _invite(session, incident_id: int, address: str, user: CurrentUser) -> subs.Subscribed:  # type: ignore[no-untyped-def]
    page = subs.page_id_of(session, incident_id)
    done = subs.subscribe_email(session, page_id=page, address=address, added_by=user.actor, now=utcnow(),
                                base_url=base_url())
    if done.already_active:
        raise subs.SubscriptionError(f"{address} already receives the updates.")
    return done


def _add_webhook(incident_id: int, user: CurrentUser) -> None:
    with st.expander("Add a webhook", icon=":material/webhook:"):
        st.caption("Each client-facing update is POSTed as signed JSON; the secret is shown once.")
        with st.form("status_sub_webhook", clear_on_submit=False):
            url = st.text_input("Webhook URL", key="status_sub_url", placeholder="https://client.example/hooks/status")
            if st.form_submit_button("Add the webhook"):
                save(lambda s: subs.add_webhook(s, incident_id=incident_id, url=url, actor=user.actor,
                                                now=utcnow())[1],
                     done="Webhook added.", reset=["status_sub_url"], keep=_SECRET)


def _add_stakeholder(incident_id: int, panel: subs.SubscriberPanel, user: CurrentUser) -> None:
    with st.expander("Add an internal stakeholder", icon=":material/groups:"):
        st.caption("Executives, account managers: any team member, told of every update.")
        with st.form("status_sub_internal", clear_on_submit=False):
            names = dict(panel.users)
            chosen = st.selectbox("Team member", list(names), index=None, format_func=lambda i: names[i],
                                  key="status_sub_user", placeholder="Pick someone")
            if st.form_submit_button("Add the stakeholder"):
                if chosen is None:
                    st.error("Pick the team member to add first.")
                    return
                save(lambda s: subs.add_internal(s, incident_id=incident_id, user_id=chosen, actor=user.actor,
                                                 now=utcnow()),
                     done=f"{names[chosen]} gets every update.", reset=["status_sub_user"])
