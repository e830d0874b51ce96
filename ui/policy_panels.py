"""Panels of the Policies page: the list, the open incidents using a policy, its history, and saving a version.

Renders read models from `core.incident.views`; a new version is saved in one
unit of work through `core.policy.store`, and a refused one leaves the text in
the editor with the problem and its line.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from core.account import signals
from core.incident.views import PoliciesPage, PolicyUse
from core.policy import store as policy_store
from core.policy.loading import PolicyError, parse_policy, policy_text
from core.text import markdown_literal
from db.engine import session_scope
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.links import opening_table

NOTICE = "policies_notice"


def policy_list(page: PoliciesPage) -> None:
    """Every saved policy with its newest version, whether it is the default, and its open incidents."""
    st.dataframe(
        pd.DataFrame([{"Policy": r.name, "Title": r.title, "Version": r.version, "Shipped preset": r.is_preset,
                       "Team default": r.is_default, "Open incidents": r.open_incidents, "Source": r.source}
                      for r in page.rows]),
        hide_index=True, width="stretch",
    )


def open_incidents(name: str, use: PolicyUse) -> None:
    """The open incidents that use the policy (each keeps the version it was opened with); a row opens one."""
    count = use.open_count
    st.caption(f"{count} open incident{'s' if count != 1 else ''} use {markdown_literal(name)} "
               "(each keeps the version it was opened with; saving a new version changes none of them).")
    if use.open_incidents:
        opening_table(pd.DataFrame([{"ID": r.id, "Severity": r.severity, "Customer": r.account, "Title": r.title,
                                     "Status": r.status} for r in use.open_incidents]),
                      [r.id for r in use.open_incidents], key=f"policy_open_incidents_{name}")


def history(use: PolicyUse, time_zone: str) -> None:
    """The policy's audited changes, each with its diff."""
    for entry in use.history:
        st.markdown(f"**{local_time(entry.at, time_zone)}** · {markdown_literal(entry.actor_name)} · {entry.action}")
        diff = entry.changes.get("diff")
        if diff:
            st.code(diff, language="diff")
        elif entry.changes:
            st.caption(markdown_literal(entry.changes))


def _save(name: str, yaml_text: str, user: CurrentUser) -> None:
    now = utcnow()
    with session_scope() as session:
        row = policy_store.save_version(session, name=name, yaml_text=yaml_text, actor_id=user.id,
                                        actor_name=user.username, now=now)
        # New early-warning rules in the team default: every account's stored warnings follow at once.
        signals.refresh_stale(session, now)
        saved = f"Saved {row.name} version {row.version}."
    st.session_state[NOTICE] = saved  # only once the unit of work committed


def make_default(session: Session, name: str, user: CurrentUser) -> None:
    """Make `name` the team default in the caller's unit of work; the stored account warnings follow its rules."""
    now = utcnow()
    policy_store.set_default(session, name=name, actor_id=user.id, actor_name=user.username, now=now)
    signals.refresh_stale(session, now)


def save_version(name: str, yaml_text: str, user: CurrentUser) -> None:
    """Validate and save the editor's text as a new version of `name`; rerun with a notice, or explain."""
    try:
        _save(name, yaml_text, user)
    except PolicyError as error:
        st.error(markdown_literal(error))
        return
    st.rerun()


def save_upload(data: bytes, file_name: str, user: CurrentUser) -> None:
    """Validate an uploaded file and save it as a new version of the policy its `name:` gives; rerun, or explain."""
    try:
        text = policy_text(data, file_name)
        _save(parse_policy(text, file_name).name, text, user)
    except PolicyError as error:
        st.error(markdown_literal(error))
        return
    st.rerun()


def notice() -> None:
    """The last save's confirmation, once."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(markdown_literal(message))
