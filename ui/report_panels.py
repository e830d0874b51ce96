"""Panels of the report and post-mortem pages, and the "after the incident" box on the incident page.

Each panel renders part of a `core.report.flows.ReportView` and runs its changes
through `run_report_change`, which passes the version the person saw: a stale
save shows the other person's text next to the form, which keeps what the
person typed. Opening a page only reads: a document nobody has saved yet is
shown to its editors as the first draft and to everyone else as not written
yet; who may edit is decided in `core`. No SQL here: reads and writes go
through `core`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.account.access import works_on_all_accounts
from core.incident import reviews
from core.incident.flows import ConflictError, IncidentError
from core.incident.reviews import ReviewError, ReviewTaskRow
from core.limits import TITLE
from core.people.users import Actor
from core.report import exports, pdf_fonts
from core.report import flows as reports
from core.report import views as report_views
from core.report.flows import ReportView
from core.report.lifecycle import (
    KIND_TITLES,
    REPORT_STATUS_LABELS,
    ReportConflict,
    ReportError,
    ReportKind,
    ReportStatus,
    allowed_report_moves,
)
from core.report.record import EarlierPostMortem
from core.report.sections import SECTIONS, span
from core.report.views import DocumentPage
from core.text import markdown_literal
from core.zones import zone
from db.engine import session_scope
from ui.app_address import external_link
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.links import incident_link, page_link

_SEEN = "report_seen_{}_{}"
_GEN = "report_gen_{}_{}"
_NOTICE = "report_notice_{}_{}"
_THEIRS = "report_theirs_{}_{}"
PAGE_OF: dict[ReportKind, str] = {ReportKind.REPORT: "report", ReportKind.POSTMORTEM: "postmortem"}
ICON_OF: dict[ReportKind, str] = {ReportKind.REPORT: ":material/description:",
                                  ReportKind.POSTMORTEM: ":material/psychology:"}


def actor_of(user: CurrentUser) -> Actor:
    """The Actor for the signed-in user."""
    return user.actor


def open_document(incident_id: int, kind: ReportKind, user: CurrentUser) -> tuple[ReportView, DocumentPage]:
    """The document's view and its page for `user` (read only); explains and stops the page when it cannot open."""
    page = report_views.document_page(incident_id, kind, viewer=user, now=utcnow(), time_zone=user.time_zone)
    if page.view is None:
        st.error(markdown_literal(page.problem))
        st.stop()
        raise AssertionError("st.stop() ends the script")
    return page.view, page


def reader_notice(view: ReportView) -> None:
    """Tell someone who may not edit that they read the document, or that it is not written yet."""
    if view.editor:
        return
    title = KIND_TITLES[view.kind].lower()
    if view.saved:
        st.info(f"You can read this {title}; editing is for the account's CSM, leads and admins.")
    else:
        st.info(f"The {title} is not written yet. The account's CSM, a lead or an admin writes it; "
                "it shows here once they save it.")


def run_report_change(view: ReportView, change: Callable, success: str, typed: dict[str, str] | None = None) -> bool:
    """Apply `change(session)` as one unit of work; on success rerun with fresh widgets, else explain."""
    key = (view.kind.value, view.record.id)
    try:
        with session_scope() as session:
            change(session)
    except ReportConflict as conflict:
        st.error(markdown_literal(conflict))
        for section in SECTIONS[view.kind]:
            if typed is not None and conflict.their_sections.get(section.key) != typed.get(section.key):
                with st.expander(f"Their saved text: {section.title}", expanded=True):
                    st.code(conflict.their_sections.get(section.key, ""), language=None, wrap_lines=True)
        st.session_state[_THEIRS.format(*key)] = conflict.their_sections
        # They have now seen the newer version: saving again applies to it, deliberately.
        st.session_state[_SEEN.format(*key)] = conflict.their_version
        return False
    except (ReportError, ReviewError, IncidentError, ConflictError, ValueError) as error:
        st.error(markdown_literal(error))
        return False
    st.session_state[_NOTICE.format(*key)] = success
    st.session_state.pop(_SEEN.format(*key), None)
    st.session_state.pop(_THEIRS.format(*key), None)
    st.session_state[_GEN.format(*key)] = st.session_state.get(_GEN.format(*key), 0) + 1
    st.rerun()
    return True


def seen_version(view: ReportView) -> int:
    """The report version this person started from (kept across reruns until a save)."""
    return st.session_state.setdefault(_SEEN.format(view.kind.value, view.record.id), view.version)


def header(view: ReportView, user: CurrentUser) -> None:
    """Title, the incident's facts, the document's status and who moved it, links to the other pages."""
    record = view.record
    seen_version(view)  # remember the version on screen now; saves check against it
    notice = st.session_state.pop(_NOTICE.format(view.kind.value, record.id), None)
    if notice:
        st.success(markdown_literal(notice))
    st.title(f"{KIND_TITLES[view.kind]} · #{record.id} {markdown_literal(record.title)}")
    other = ReportKind.POSTMORTEM if view.kind is ReportKind.REPORT else ReportKind.REPORT
    with st.container(horizontal=True):
        incident_link(record.id, "Back to the incident", icon=":material/arrow_back:")
        page_link(PAGE_OF[other], KIND_TITLES[other], query={"id": record.id}, icon=ICON_OF[other])
    cols = st.columns(4)
    cols[0].metric("Status", REPORT_STATUS_LABELS[ReportStatus(view.status)] if view.saved else "Not written yet")
    cols[1].metric("Client", markdown_literal(record.account_name), record.account_tier, delta_color="off")
    cols[2].metric("Severity", record.severity, "red status" if record.red_status else None, delta_color="off")
    cols[3].metric("Duration", span(record.duration))
    if view.saved:
        st.caption(f"Status set by {markdown_literal(view.status_changed_by)} "
                   f"{local_time(view.status_changed_at, user.time_zone)} · "
                   f"last edit by {markdown_literal(view.updated_by)} {local_time(view.updated_at, user.time_zone)} · "
                   f"version {view.version}")
    elif view.editor:
        st.caption("Not saved yet: this first draft is written from the record as it stands now. "
                   "It is stored when you save it; until then nobody else sees it.")


def status_panel(view: ReportView, user: CurrentUser, editor: bool) -> None:
    """Move the document through draft, in review, reviewed and closed; shows who moved it when."""
    if not view.saved:
        st.caption("Save the draft first; then it can go to review." if editor else "Not written yet.")
        return
    moves = allowed_report_moves(view.status, user.role, editor)
    expected = seen_version(view)
    if moves:
        with st.form(f"report_move_{view.kind.value}"):
            target = st.selectbox("Move to", [m.value for m in moves], key=f"report_target_{view.kind.value}",
                                  format_func=lambda s: REPORT_STATUS_LABELS[ReportStatus(s)])
            if st.form_submit_button("Move status"):
                run_report_change(view, lambda s: reports.move_report(
                    s, incident_id=view.record.id, kind=view.kind, target=target,
                    actor=actor_of(user), now=utcnow(), expected_version=expected),
                    f"Moved to {REPORT_STATUS_LABELS[ReportStatus(target)]}.")
    if not works_on_all_accounts(user.role) and view.status in (ReportStatus.IN_REVIEW, ReportStatus.REVIEWED):
        st.caption("Marking it reviewed or closed is for leads and admins.")
    if view.history:
        st.markdown("**Status history**")
        st.dataframe(pd.DataFrame([{"When": local_time(h.at, user.time_zone), "Who": h.by,
                                    "From": REPORT_STATUS_LABELS[ReportStatus(h.before)] if h.before else "—",
                                    "To": REPORT_STATUS_LABELS[ReportStatus(h.after)]} for h in view.history]),
                     hide_index=True, width="stretch")


def sections_form(view: ReportView, user: CurrentUser, editor: bool) -> None:
    """The document's sections: an editing form while it may change, read-only text otherwise."""
    if not view.saved and not editor:
        st.caption(f"The {KIND_TITLES[view.kind].lower()} is not written yet.")
        return
    if view.saved:
        st.caption("The text keeps the zone it was written in (named at its start and after each time); "
                   f"the rest of this page shows times in {user.time_zone}.")
    else:
        st.caption(f"Times in this first draft are in {user.time_zone}.")
    if not (editor and view.editable_text):
        if editor:
            st.info("The text is locked once reviewed; a lead can move it back to review to change it.")
        for section in SECTIONS[view.kind]:
            st.subheader(section.title)
            st.text(view.sections.get(section.key, ""))
        return
    key = (view.kind.value, view.record.id)
    gen = st.session_state.get(_GEN.format(*key), 0)
    theirs = st.session_state.get(_THEIRS.format(*key))
    expected = seen_version(view)
    with st.form(f"report_sections_{view.kind.value}", clear_on_submit=False):
        typed = {}
        for section in SECTIONS[view.kind]:
            typed[section.key] = st.text_area(section.title, value=view.sections.get(section.key, ""), height=200,
                                              key=f"rep_{view.kind.value}_{view.record.id}_{section.key}_{gen}",
                                              help=section.guidance)
            if theirs and theirs.get(section.key) != typed[section.key]:
                with st.expander(f"Their saved text: {section.title}"):
                    st.code(theirs.get(section.key, ""), language=None, wrap_lines=True)
        if st.form_submit_button("Save", type="primary"):
            run_report_change(view, lambda s: reports.save_sections(
                s, incident_id=view.record.id, kind=view.kind, sections=typed, actor=actor_of(user),
                now=utcnow(), expected_version=expected, time_zone=user.time_zone), "Saved.", typed)


def exports_panel(view: ReportView, tasks: list[ReviewTaskRow], user: CurrentUser) -> None:
    """Downloads: Markdown, PDF with the timeline chart (times in the user's zone) and, on the report, the client's
    recovery summary (times in the client's zone)."""
    if not view.saved:
        st.caption(f"Nothing to export until the {KIND_TITLES[view.kind].lower()} is saved.")
        return
    now = utcnow()
    stem = f"incident-{view.record.id}-{view.kind.value}"
    left, right = st.columns(2)
    st.caption(f"The Markdown and PDF show times in {user.time_zone}.")
    left.download_button("Download Markdown", exports.to_markdown(view, now=now, time_zone=user.time_zone),
                         file_name=f"{stem}.md", mime="text/markdown", key=f"dl_md_{view.kind.value}")
    # Built on the click, not on every rerun of the page: a document with CJK text loads a large font.
    right.download_button("Download PDF", lambda: exports.to_pdf(view, now=now, time_zone=user.time_zone),
                          file_name=f"{stem}.pdf",
                          mime="application/pdf", key=f"dl_pdf_{view.kind.value}")
    missing = pdf_fonts.missing_packages()
    if missing:
        right.caption(f"The PDF fonts are not installed on the server ({', '.join(missing)}): emoji and "
                      "non-Latin text print as '?'. An administrator runs `make fonts`.")
    if view.kind is ReportKind.REPORT:
        summary = exports.recovery_summary(view.record, tasks)
        st.markdown("**Recovery summary for the client** (plain text, nothing internal; times in the client's zone, "
                    f"{markdown_literal(exports.client_zone(view.record))})")
        st.code(summary, language=None, wrap_lines=True)
        st.download_button("Download the client summary", summary, file_name=f"incident-{view.record.id}-client.txt",
                           mime="text/plain", key="dl_client")


def reviews_panel(view: ReportView, tasks: list[ReviewTaskRow], user: CurrentUser, editor: bool) -> None:
    """The policy's post-resolution reviews, ticked off by people, and their calendar file."""
    now = utcnow()
    if not tasks:
        st.caption(f"The incident's policy ({markdown_literal(view.record.policy_title)}) schedules no review.")
        return
    for task in tasks:
        when = local_time(task.due_at, user.time_zone)
        state = (f"done {local_time(task.done_at, user.time_zone)} by {markdown_literal(task.done_by)}" if task.done_at
                 else (":red[overdue]" if task.overdue(now) else "to do"))
        cols = st.columns([5, 1])
        cols[0].markdown(f"**{markdown_literal(task.title)}** · due {when} · {state}")
        if editor and cols[1].button("Reopen" if task.done_at else "Done", key=f"review_{task.id}"):
            run_report_change(view, lambda s, t=task: reviews.set_review_done(
                s, task_id=t.id, done=t.done_at is None, actor=actor_of(user), now=utcnow(),
                expected_version=t.version), "Review updated.")
    ics = reviews.reviews_ics(tasks, incident_id=view.record.id, incident_title=view.record.title,
                              account_name=view.record.account_name,
                              link=external_link("incident", id=view.record.id), time_zone=user.time_zone)
    st.download_button("Add to my calendar (.ics)", ics, file_name=f"incident-{view.record.id}-reviews.ics",
                       mime="text/calendar", key="dl_ics")


def actions_panel(view: ReportView, user: CurrentUser, editor: bool, people: list[tuple[int, str]]) -> None:
    """The post-mortem's action items: each with an owner and a due date, ticked off when done."""
    now = utcnow()
    items = view.postmortem_items
    if not items:
        st.caption("No action item yet.")
    for item in items:
        overdue = item.due_at and not item.done_at and item.due_at < now
        label = (f"{markdown_literal(item.title)} · {markdown_literal(item.owner)} · "
                 f"due {local_time(item.due_at, user.time_zone, '%d %b %Y')}"
                 + (" · :red[overdue]" if overdue else ""))
        may_tick = editor or item.owner_id == user.id
        done = st.checkbox(label, value=item.done_at is not None, key=f"pm_ai_{item.id}", disabled=not may_tick)
        if may_tick and done != (item.done_at is not None):
            run_report_change(view, lambda s, i=item, d=done: reports.set_postmortem_action_done(
                s, item_id=i.id, done=d, actor=actor_of(user), now=utcnow(),
                expected_version=i.version), "Action item updated.")
    if not editor:
        return
    names = dict(people)
    with st.form("pm_new_action", clear_on_submit=False):
        title = st.text_input("New action item", key="pm_ai_title", max_chars=TITLE.max_chars,
                              placeholder="e.g. Alert when the sync job has not run for 2 hours")
        c1, c2 = st.columns(2)
        owner = c1.selectbox("Owner", list(names), format_func=names.get, key="pm_ai_owner",
                             index=list(names).index(user.id) if user.id in names else 0)
        due = c2.date_input("Due", value=None, key="pm_ai_due", help=f"End of that day in {user.time_zone}.")
        if st.form_submit_button("Add action item"):
            due_at = (dt.datetime.combine(due, dt.time(17, 0), tzinfo=zone(user.time_zone)).astimezone(dt.UTC)
                      if due else None)
            run_report_change(view, lambda s: reports.add_postmortem_action(
                s, incident_id=view.record.id, title=title, owner_id=owner, due_at=due_at,
                actor=actor_of(user), now=utcnow()), "Action item added.")


def earlier_postmortems(earlier: list[EarlierPostMortem], user: CurrentUser) -> None:
    """Links to post-mortems of earlier incidents on the same account (prevention that did not hold)."""
    if not earlier:
        return
    st.markdown("**Earlier post-mortems on this account**")
    for e in earlier:
        page_link(PAGE_OF[ReportKind.POSTMORTEM],
                  f"#{e.incident_id} {markdown_literal(e.title)} · detected "
                  f"{local_time(e.detected_at, user.time_zone, '%d %b %Y')} · "
                  f"{REPORT_STATUS_LABELS[ReportStatus(e.status)].lower()}",
                  query={"id": e.incident_id}, icon=ICON_OF[ReportKind.POSTMORTEM])


def after_incident(incident_id: int, resolved: bool, user: CurrentUser) -> None:
    """On the incident page: links to the report and post-mortem once resolved, and earlier post-mortems."""
    earlier = report_views.earlier_postmortems(incident_id)
    if resolved:
        with st.container(horizontal=True):
            page_link(PAGE_OF[ReportKind.REPORT], "Critical incident report", query={"id": incident_id},
                      icon=ICON_OF[ReportKind.REPORT])
            page_link(PAGE_OF[ReportKind.POSTMORTEM], "Blameless post-mortem", query={"id": incident_id},
                      icon=ICON_OF[ReportKind.POSTMORTEM])
    earlier_postmortems(earlier, user)


def my_overdue_actions(user: CurrentUser, *, team: bool = False) -> None:
    """Home page section: overdue post-mortem action items (mine or the team's), each opening its post-mortem."""
    overdue = report_views.overdue_actions(owner_id=None if team else user.id, now=utcnow())
    if not overdue:
        return
    st.subheader(f"{'Team' if team else 'My'} overdue post-mortem actions ({len(overdue)})")
    for item in overdue:
        owner = f" · {markdown_literal(item.owner)}" if team else ""
        page_link(PAGE_OF[ReportKind.POSTMORTEM],
                  f":red[due {local_time(item.due_at, user.time_zone, '%d %b %Y')}] {markdown_literal(item.title)}"
                  f"{owner} · #{item.incident_id} {markdown_literal(item.incident_title)} "
                  f"({markdown_literal(item.account_name)})",
                  query={"id": item.incident_id}, icon=ICON_OF[ReportKind.POSTMORTEM])
