"""The "Platform outages" page's parts: the list, the new-outage form, the linked incidents, bulk update, resolve.

Core decides who may do what and does it (core.outage.flows); this module reads widgets, shows core's
answers and keeps what was typed when core refuses. The bulk update form pins the outage version it
was drawn with, so a second click of the same form is refused by core instead of posting twice; a
new version is taken only when the person asks to write another update. Never builds a query.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import streamlit as st

from core.communication.catalog import template_spec
from core.outage import flows, views
from core.outage.views import OutageDetail, OutagesPage
from core.statuspage.flows import STAGES, suggest_stage
from core.text import markdown_literal
from core.vocabulary import SEVERITIES, STATUS_LABELS, IncidentStatus
from db.engine import read_scope, session_scope
from ui.app_address import base_url
from ui.auth import CurrentUser
from ui.format import local_time, time_left
from ui.links import go_to, opening_table
from ui.save import USER_ERRORS, queue_toast, save

STAMP = "%a %d %b %H:%M"
_NEW_TOKEN = "outage_new_token"
_RESULT = "outage_bulk_result"


def _version_key(outage_id: int) -> str:
    return f"outage_bulk_version_{outage_id}"


def counts(view: OutagesPage) -> None:
    """The figures above the list: emergencies with each outage counted once, outages and accounts hit."""
    c1, c2, c3 = st.columns(3)
    c1.metric("Open emergencies", view.counts.emergencies,
              help=f"{view.counts.incidents} open incidents; the incidents of one platform outage count once.")
    c2.metric("Platform outages open", view.counts.outages)
    c3.metric("Accounts affected", view.counts.accounts_affected)


def outage_list(view: OutagesPage, zone: str) -> None:
    """The outages, open first, each row opening its outage."""
    rows = view.outages.rows
    if not rows:
        st.info("No platform outage yet. Open one below when one failure hits several clients.")
        return
    frame = pd.DataFrame([{"Outage": f"#{r.id}", "Title": r.title, "Severity": r.severity,
                           "Status": r.status.capitalize(), "Started": local_time(r.started_at, zone, STAMP),
                           "Resolved": local_time(r.resolved_at, zone, STAMP) if r.resolved_at else "",
                           "Owner": r.owner_name, "Accounts": r.linked, "Still open": r.linked_open} for r in rows])
    opening_table(frame, [r.id for r in rows], key="outage_list", target="outages",
                  hint="Tick a row's box to open that outage.")


def new_outage_form(user: CurrentUser, now: dt.datetime) -> None:
    """Open an outage (one per filled-in form, however often it is sent), linking the incidents ticked."""
    choices = {i.id: i.label for i in views.linkable_incidents(user.actor)}
    token = st.session_state.setdefault(_NEW_TOKEN, uuid.uuid4().hex)
    with st.form("outage_new"):
        title = st.text_input("Title", key="outage_title", max_chars=200,
                              placeholder="Payments API returning errors")
        severity = st.selectbox("Severity", SEVERITIES, index=1, key="outage_severity")
        impact = st.text_area("Client impact (client words: every update starts from it)", key="outage_impact")
        summary = st.text_area("Internal summary (for the team only, never sent)", key="outage_summary")
        linked = st.multiselect("Link these open incidents now", list(choices), format_func=choices.get,
                                key="outage_link")
        sent = st.form_submit_button("Open the outage", type="primary")
    if not sent:
        return

    try:
        with session_scope() as session:
            opened = flows.open_outage(session, title=title, client_impact=impact, summary=summary,
                                       severity=severity, started_at=now, actor=user.actor, now=now,
                                       idempotency_key=token, incident_ids=linked)
    except USER_ERRORS as error:
        st.error(markdown_literal(error))
        return
    for key in ("outage_title", "outage_impact", "outage_summary", "outage_link", _NEW_TOKEN):
        st.session_state.pop(key, None)
    queue_toast(f"Platform outage #{opened.id} opened." if opened.created
                else f"Outage #{opened.id} was already opened from this form: here it is.")
    go_to("outages", id=opened.id)


def header(detail: OutageDetail, zone: str) -> None:
    """The outage's title, state and client impact."""
    row = detail.outage
    st.subheader(f"#{row.id} · {markdown_literal(row.title)}", anchor=False)
    state = "open" if detail.is_open else f"resolved {local_time(row.resolved_at, zone, STAMP)}"
    accounts = f"{row.linked} account{'s' * (row.linked != 1)}, {row.linked_open} still open"
    st.caption(f"{row.severity} · {state} · started {local_time(row.started_at, zone, STAMP)} · owner "
               f"{markdown_literal(row.owner_name)} · {accounts}")
    st.markdown("**Client impact:** " + (markdown_literal(detail.client_impact) or "_not written yet_"))
    if detail.summary:
        st.markdown("**Internal summary:** " + markdown_literal(detail.summary))


def linked_table(detail: OutageDetail, zone: str, now: dt.datetime) -> None:
    """The linked incidents, each with its own account, zone, owner, clocks and client messages."""
    if not detail.linked:
        st.info("No incident is linked yet: link one from its incident page, or when opening the outage.")
        return
    frame = pd.DataFrame([{
        "Incident": f"#{i.id}", "Account": i.account_name, "Zone": i.time_zone, "Owner": i.owner_name,
        "Status": STATUS_LABELS.get(IncidentStatus(i.status), i.status), "Severity": i.severity,
        "Next deadline": (f"{i.next_deadline_clock or ''} {local_time(i.next_deadline_at, zone, STAMP)} "
                          f"({time_left(i.next_deadline_at, now)})" if i.next_deadline_at else ""),
        "Client update due": local_time(i.next_client_update_due_at, zone, STAMP) if i.next_client_update_due_at
        else "", "Status page": ("revoked" if i.status_page_revoked else "yes") if i.has_status_page else "no",
        "Last client message": local_time(i.last_client_message_at, zone, STAMP) if i.last_client_message_at
        else "none yet"} for i in detail.linked])
    opening_table(frame, [i.id for i in detail.linked], key=f"outage_linked_{detail.outage.id}")


def _shared_inputs(outage_id: int) -> dict[str, str]:
    return {name: st.text_area(label, key=f"outage_{outage_id}_{name}", height=80)
            for name, label in flows.SHARED_FIELDS.items()}


def bulk_update_form(detail: OutageDetail, user: CurrentUser, now: dt.datetime) -> None:
    """One update to every open linked client the reader may write to: preview the first two, then post."""
    outage_id = detail.outage.id
    result = st.session_state.get(_RESULT)
    if isinstance(result, flows.BulkResult) and result.outage_id == outage_id:
        _show_result(result)
        if st.button("Write another update", key="outage_bulk_again"):
            st.session_state.pop(_RESULT, None)
            st.session_state.pop(_version_key(outage_id), None)
            st.rerun()
        return
    reach = len(detail.writable)
    skipped = len(detail.open_linked) - reach
    if not reach:
        st.info("None of the open linked incidents is yours to write to: their CSMs, owners, leads and admins post.")
        return
    if skipped:
        st.caption(f"You may write to {reach} of the {len(detail.open_linked)} open clients; the other {skipped} "
                   "are for their own CSMs or owners (or a lead).")
    version = st.session_state.setdefault(_version_key(outage_id), detail.outage.version)
    templates = views.client_templates()
    template = st.selectbox("Template", list(templates), format_func=templates.get, key=f"outage_{outage_id}_tpl")
    st.caption(template_spec(template).use_when)
    first = detail.open_linked[0].status if detail.open_linked else "new"
    stages = list(STAGES)
    stage = st.selectbox("Stage shown on each status page", stages, index=stages.index(suggest_stage(first)),
                         format_func=STAGES.get, key=f"outage_{outage_id}_stage")
    edits = _shared_inputs(outage_id)
    notify = st.checkbox("Notify each page's subscribers", value=True, key=f"outage_{outage_id}_notify")
    _preview(outage_id, template, edits, user, now)
    if st.button(f"Post to {reach} client{'s' * (reach != 1)}", type="primary", key=f"outage_{outage_id}_post"):
        save(lambda session: flows.bulk_update(
            session, outage_id=outage_id, expected_version=version, template_key=template, edits=edits, stage=stage,
            notify_subscribers=notify, actor=user.actor, now=now, base_url=base_url()),
            done="Update posted.", keep=_RESULT)


def _preview(outage_id: int, template: str, edits: dict[str, str], user: CurrentUser, now: dt.datetime) -> None:
    st.markdown("**Preview: the first two messages, each in its own client's words and time zone**")
    try:
        with read_scope() as session:
            previews = flows.preview(session, outage_id=outage_id, template_key=template, edits=edits,
                                     actor=user.actor, now=now)
    except USER_ERRORS as error:
        st.warning(markdown_literal(error))
        return
    for update in previews:
        with st.container(border=True):
            st.markdown(f"**{markdown_literal(update.account_name)}** · {markdown_literal(update.title)}")
            st.text(update.text)


def _show_result(result: flows.BulkResult) -> None:
    st.success(f"Posted to {len(result.posted)} client{'s' * (len(result.posted) != 1)}.")
    if result.not_posted:
        st.warning(f"Not posted to {len(result.not_posted)}:")
        for outcome in result.not_posted:
            st.markdown(f"- #{outcome.incident_id} {markdown_literal(outcome.account_name)}: "
                        f"{markdown_literal(outcome.reason)}")


def resolve_form(detail: OutageDetail, user: CurrentUser, now: dt.datetime) -> None:
    """Resolve the outage and, ticked by default, each open linked incident (each under its own rule)."""
    if not detail.is_open:
        st.info("This outage is resolved.")
        return
    if not detail.may_run:
        st.caption("Leads, admins and the outage's owner resolve it.")
        return
    outage_id = detail.outage.id
    with st.form(f"outage_resolve_{outage_id}"):
        st.markdown("Resolve these linked incidents too:")
        chosen = [i.id for i in detail.open_linked
                  if st.checkbox(f"#{i.id} · {markdown_literal(i.account_name)}", value=True,
                                 key=f"outage_resolve_{outage_id}_{i.id}")]
        sent = st.form_submit_button("Resolve the outage", type="primary")
    if sent:
        save(lambda session: flows.resolve_outage(session, outage_id=outage_id,
                                                  expected_version=detail.outage.version, resolve_incidents=chosen,
                                                  actor=user.actor, now=now),
             done="Outage resolved.", keep="outage_resolved")


def resolved_notice() -> None:
    """After resolving: which chosen incidents were not resolved, and why (shown once)."""
    result = st.session_state.pop("outage_resolved", None)
    if isinstance(result, flows.ResolveResult):
        for outcome in result.outcomes:
            if not outcome.done:
                st.warning(f"#{outcome.incident_id} {markdown_literal(outcome.account_name)} was not resolved: "
                           f"{markdown_literal(outcome.reason)}")
