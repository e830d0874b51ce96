"""Panels of the account page: summary with contacts, health trend, SLA attainment, communications, edit.

Each panel renders a read model from core (account_service.AccountView,
signals.HealthReport); writes go through ui.account_forms and core.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.account import service as account_service
from core.account.service import AccountView, Editor
from core.account.signals import HealthReport
from core.text import markdown_literal
from ui.account_charts import trend
from ui.account_forms import account_form, editor_of, reading_form, save_account, seen_version
from ui.account_risk import triage_link
from ui.auth import CurrentUser
from ui.format import local_time
from ui.links import opening_table


def summary(view: AccountView, user: CurrentUser) -> None:
    """Tier, value, renewal, owner, contract terms and contacts."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Tier", view.tier)
    c2.metric("Annual contract value", f"{view.annual_contract_value:,.0f}")
    c3.metric("Renewal", view.renewal_date.isoformat() if view.renewal_date else "—")
    c4.metric("Owner (CSM)", markdown_literal(view.owner))
    terms = view.contract_terms
    st.markdown(f"**Response commitments:** {markdown_literal(terms.get('response_commitment') or '—')}  \n"
                f"**Service credits:** {markdown_literal(terms.get('service_credits') or '—')}  \n"
                f"**Account time zone:** {view.time_zone}")
    if view.contacts:
        st.dataframe(pd.DataFrame([{
            "Name": c["name"] + (" (primary)" if c["is_primary"] else ""), "Role": c["role"], "Email": c["email"],
            "Phone": c["phone"], "Time zone": c["time_zone"], "Prefers": c["preferred_channel"],
        } for c in view.contacts]), hide_index=True, width="stretch")
    else:
        st.caption("No contact recorded yet.")


def health(view: AccountView, report: HealthReport | None, user: CurrentUser, now: dt.datetime) -> None:
    """Current warnings with triage links, the trend of every metric, and a form to record a reading."""
    if report is not None:
        warnings = report.warnings_for(view.id)
        if not report.rules:
            st.info(f"The team default policy ({markdown_literal(report.policy_name)}) has no early-warning rules.")
        elif not warnings:
            st.success(f"No early-warning rule of the {markdown_literal(report.policy_name)} policy fires for "
                       "this account.")
        for warning in warnings:
            st.warning(f"**{markdown_literal(warning.title)}**: {markdown_literal(warning.reason)}.")
            if view.archived_at is None:
                triage_link(view.id, warning.rule)
        readings = [o for o in report.observations if o.account_id == view.id]
        if readings:
            st.vega_lite_chart(trend(readings, time_zone=user.time_zone), width="content")
            st.caption("Readings of the last weeks: entered, imported, or derived from this account's incidents.")
        else:
            st.caption("No health reading in the period evaluated.")
    if view.archived_at is None and account_service.may_see(editor_of(user), view.owner_id):
        with st.expander("Record a reading"):
            reading_form(view.id, user, now)


def incidents(view: AccountView, user: CurrentUser) -> None:
    """The account's latest incidents, newest first; a row opens its incident in this tab."""
    if not view.incidents:
        st.info("No incident on this account yet.")
        return
    opening_table(pd.DataFrame([{
        "ID": i.id, "Severity": i.severity + (" · RED" if i.red_status else ""),
        "Title": ("DRILL · " if i.is_drill else "") + i.title, "Status": i.status,
        "Detected": local_time(i.detected_at, user.time_zone),
    } for i in view.incidents]), [i.id for i in view.incidents], key=f"account_incidents_{view.id}")
    if view.incident_total > len(view.incidents):
        st.caption(f"The latest {len(view.incidents)} of {view.incident_total} incidents.")


def attainment(view: AccountView) -> None:
    """Met and breached SLA clocks across the account's latest incidents."""
    if not view.attainment:
        st.info("No SLA clock yet: the account has no incident.")
        return
    st.dataframe(pd.DataFrame([{
        "Clock": a.label, "Met": a.met, "Breached": a.breached, "Still running": a.running,
        "Met %": round(100 * a.met / (a.met + a.breached)) if a.met + a.breached else None,
    } for a in view.attainment]), hide_index=True, width="stretch",
        column_config={"Met %": st.column_config.NumberColumn("Met %", format="%d%%")})
    real = sum(1 for i in view.incidents if not i.is_drill)
    st.caption(f"Over the latest {real} incident(s), each on the policy it was opened under; drills are left out.")


def communications(view: AccountView, user: CurrentUser) -> None:
    """Messages sent to the client across the account's incidents, newest first; a row opens its incident."""
    if not view.communications:
        st.info("No message has been sent to this client yet.")
        return
    opening_table(pd.DataFrame([{
        "Sent": local_time(c["at"], user.time_zone), "Incident": c["incident"],
        "Channel": c["channel"], "Subject": c["subject"], "To": c["to"], "By": c["by"],
    } for c in view.communications]), [c["incident"] for c in view.communications],
        key=f"account_messages_{view.id}", hint="Tick a row's box to open the incident it was sent for.")


def edit(view: AccountView, editor: Editor, owners: list[tuple[int, str]], now: dt.datetime) -> None:
    """The edit form (owner, leads, admins) and archive/restore (admins)."""
    if not account_service.may_edit(editor, view.owner_id):
        st.info("Only the account's owner, a lead or an admin can edit it.")
        return
    prefix = f"edit_account_{view.id}_"
    if view.archived_at is None:
        expected = seen_version(prefix, view.version)
        raw = account_form(prefix, view.form, owners, can_change_owner=account_service.may_create(editor),
                           submit_label="Save changes")
        if raw is not None:
            save_account(lambda session: account_service.update_account(
                session, account_id=view.id, data=account_service.parse_account(raw), expected_version=expected,
                editor=editor, now=now), prefix=prefix, success="Account saved.")
    if account_service.may_archive(editor):
        archived = view.archived_at is not None
        label = "Restore account" if archived else "Archive account"
        st.caption("Archiving hides the account from lists and triage; its incidents and signals stay.")
        if st.button(label, key=f"{prefix}archive"):
            save_account(lambda session: account_service.set_archived(
                session, account_id=view.id, archived=not archived, expected_version=view.version, editor=editor,
                now=now), prefix=prefix, success="Account restored." if archived else "Account archived.")

