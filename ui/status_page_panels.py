"""The incident's Status page tab: publishing the client's page, its link, revoking or replacing it, posting updates.

Everything shown comes from `core.statuspage.views.status_page_tab` and every change goes through
`core.statuspage.flows`, which decides who may publish (the rule for writing to the client). A post
carries the incident version the person saw, so a second click or a stale screen is refused, never
posted twice. Read-only viewers see the page's state and its posts, no form. This module holds no
rule and builds no query.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st
from sqlalchemy.orm import Session

from core.statuspage import flows
from core.statuspage.views import StatusPageTab, current_url, status_page_tab
from core.text import markdown_literal
from db.engine import read_scope
from ui import app_address
from ui.auth import CurrentUser
from ui.confirm import confirm
from ui.format import local_time
from ui.incident_actions import run_change, seen_version
from ui.save import save


def status_link(incident_id: int) -> str:
    """The incident's status page address that works now, for client messages; '' when none does."""
    with read_scope() as session:
        return current_url(session, incident_id, app_address.base_url())


def _publish_form(tab: StatusPageTab, user: CurrentUser, now: dt.datetime) -> None:
    st.info("No status page yet. Publishing one gives you a link to share with the client: it shows the status, "
            "your words on the impact and every update you post here, never an internal note.")
    with st.form(f"status_publish_{tab.incident_id}"):
        headline = st.text_input("Headline (the client reads it)", value=tab.incident_title,
                                 max_chars=flows.HEADLINE_MAX, key=f"status_publish_headline_{tab.incident_id}")
        impact = st.text_area("Impact, in the client's words", max_chars=flows.IMPACT_MAX,
                              placeholder="What is affected for them, and what still works.",
                              key=f"status_publish_impact_{tab.incident_id}")
        if st.form_submit_button("Publish the status page", type="primary"):
            save(lambda s: flows.ensure_page(s, tab.incident_id, actor=user.actor, now=now, headline=headline,
                                             client_impact=impact), done="Status page published: copy its link.")


def _link(tab: StatusPageTab) -> None:
    if tab.revoked:
        st.warning("The link is revoked: it answers 'not available' to everyone. Make a new link to publish "
                   "the page again (the old one stays dead).")
        return
    st.markdown("**Link to share with the client** (copy button at the top right)")
    st.code(tab.url, language=None)
    st.caption("Anyone with this link can read the page (no sign-in). It shows only client-safe values and "
               "refreshes itself every minute.")


def _manage(tab: StatusPageTab, user: CurrentUser, now: dt.datetime) -> None:
    key = f"status_page_{tab.incident_id}"
    with st.expander("Edit the headline and impact"), st.form(f"{key}_edit"):
        headline = st.text_input("Headline", value=tab.headline, max_chars=flows.HEADLINE_MAX)
        impact = st.text_area("Impact, in the client's words", value=tab.client_impact, max_chars=flows.IMPACT_MAX)
        if st.form_submit_button("Save the page"):
            save(lambda s: flows.edit_page(s, incident_id=tab.incident_id, expected_version=tab.page_version,
                                           headline=headline, client_impact=impact, actor=user.actor, now=now),
                 done="Status page saved.")
    revoke_col, renew_col = st.columns(2)
    if not tab.revoked:
        asked = revoke_col.button("Revoke the link", key=f"{key}_revoke", icon=":material/link_off:")
        confirm("Revoke the status page link? Everyone who has it sees 'not available' from now on; subscribers are "
                "kept.", yes_label="Revoke", key=f"{key}_revoke_confirm", ask=asked,
                apply=lambda: save(lambda s: flows.revoke(s, incident_id=tab.incident_id,
                                                          expected_version=tab.page_version, actor=user.actor,
                                                          now=now), done="Status page link revoked."))
    if renew_col.button("Make a new link", key=f"{key}_renew", icon=":material/autorenew:",
                        help="The old link stops working; share the new one."):
        save(lambda s: flows.renew_link(s, incident_id=tab.incident_id, expected_version=tab.page_version,
                                        actor=user.actor, now=now),
             done="New status page link made: the previous one no longer works.")


def _post_form(tab: StatusPageTab, user: CurrentUser, now: dt.datetime) -> None:
    stages = list(flows.STAGES)
    latest = tab.posts[0] if tab.posts else None
    expected = seen_version(tab.incident_id, tab.incident_version)
    st.markdown("**Post an update**")
    key = f"status_post_{tab.incident_id}"
    with st.form(key, clear_on_submit=False):
        stage: str = st.selectbox("Stage", stages, index=stages.index(tab.suggested_stage), key=f"{key}_stage",
                                  format_func=lambda value: flows.STAGES[value]) or tab.suggested_stage
        title = st.text_input("Title", value=latest.title if latest else tab.headline, key=f"{key}_title",
                              max_chars=flows.UPDATE_TITLE_MAX)
        body = st.text_area("Update, in the client's words", value=latest.body if latest else tab.client_impact,
                            max_chars=flows.UPDATE_BODY_MAX, height=140, key=f"{key}_body")
        notify = st.checkbox("Tell the subscribers (email, webhooks)", value=True, key=f"{key}_notify")
        st.caption("The internal stakeholder tier always hears of every post. A post is a client message: it is "
                   "logged on the incident and meets the next planned client update, like an email.")
        if st.form_submit_button("Post the update", type="primary"):
            base = app_address.base_url()

            def post(session: Session) -> None:
                flows.post_update(session, incident_id=tab.incident_id, expected_version=expected, stage=stage,
                                  title=title, body=body, notify_subscribers=notify, actor=user.actor, now=now,
                                  base_url=base)

            run_change(tab.incident_id, post, "Update posted on the status page.",
                       reset=[f"{key}_stage", f"{key}_title", f"{key}_body"])


def _posts(tab: StatusPageTab, user: CurrentUser) -> None:
    st.markdown(f"**Posts ({len(tab.posts)})**")
    if not tab.posts:
        st.caption("Nothing posted yet.")
    for post in tab.posts:
        st.markdown(f"{markdown_literal(post.stage_label or 'Update')} · **{markdown_literal(post.title)}** · "
                    f"{local_time(post.sent_at, user.time_zone)}")
        st.text(post.body)


def status_page_section(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """The status page tab's link and posting sections."""
    with read_scope() as session:
        tab = status_page_tab(session, incident_id, actor=user.actor, base_url=app_address.base_url())
    if tab is None:
        return
    writes = editable and tab.may_publish
    if not tab.exists:
        if writes:
            _publish_form(tab, user, now)
        else:
            st.caption("No status page has been published for this incident.")
        return
    _link(tab)
    if writes:
        _manage(tab, user, now)
        if not tab.revoked:
            _post_form(tab, user, now)
    _posts(tab, user)
