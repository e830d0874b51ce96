"""The cockpit's "Paging" section: each page of the incident, who it reached and when, and its two actions.

Reads the pages (`core.alerts.paging.pages_of`) without writing; shows nothing when the incident
was never paged, so the cockpit stays compact. Live pages come first with "Escalate page now" and
"Jump to step" for the people who may change the incident (core refuses anyone else); closed pages
fold into one expander. Every stored name is shown as text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.alerts.paging import ACKNOWLEDGED, PageView, escalate_now, jump_to, pages_of
from core.text import markdown_literal
from db.engine import read_scope
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.save import save


def _paged_table(page: PageView, user: CurrentUser) -> None:
    if not page.paged:
        st.caption("Nobody has been reached yet.")
        return
    rows = [{"When": local_time(item.due_at, user.time_zone), "Who": item.name, "How": item.channel,
             "Step": page.steps[item.step].label if item.step < len(page.steps) else str(item.step + 1),
             "Round": item.round + 1, "Outcome": item.outcome} for item in page.paged]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _summary(page: PageView, user: CurrentUser) -> str:
    """One line of Markdown; every stored text in it (names, reasons, layer names) is escaped."""
    level = f"**{markdown_literal(page.level)}**"
    where = f"{markdown_literal(page.step_label)} · round {page.round + 1} of {page.rounds}"
    if page.state == ACKNOWLEDGED:
        holds = f", holds until {local_time(page.ack_expires_at, user.time_zone)}" if page.next_at else ""
        return (f"{level} · {page.state_name} by {markdown_literal(page.acknowledged_by)} "
                f"{local_time(page.acknowledged_at, user.time_zone)}{holds} · {where}")
    if page.live:
        return (f"{level} · {page.state_name} · {where} · next step "
                f"{local_time(page.next_at, user.time_zone)} without an acknowledgement")
    return f"{level} · {page.state_name}: {markdown_literal(page.closed_reason)}"


def _actions(page: PageView, user: CurrentUser) -> None:
    left, middle, right = st.columns([1, 2, 1], vertical_alignment="bottom")
    if left.button("Escalate page now", key=f"page_escalate_{page.id}",
                   help="Page the next step at once, without waiting for the acknowledgement time."):
        save(lambda session: escalate_now(session, page.id, user.actor, utcnow()),
             done=f"The page for {page.level} went to the next step.")
    labels = [step.label for step in page.steps]
    if not labels:
        return
    chosen = middle.selectbox("Jump to step", range(len(labels)), key=f"page_step_{page.id}",
                              format_func=lambda index: labels[index])
    if right.button("Page this step", key=f"page_jump_{page.id}"):
        save(lambda session: jump_to(session, page.id, int(chosen), user.actor, utcnow()),
             done=f"The page for {page.level} went to step {int(chosen) + 1}.")


def paging_section(incident_id: int, user: CurrentUser, editable: bool) -> None:
    """Who the incident's pages reached; the page actions for people who may change the incident."""
    with read_scope() as session:
        pages = pages_of(session, incident_id)
    if not pages:
        return
    st.subheader("Paging")
    live = [page for page in pages if page.live]
    for page in live:
        with st.container(border=True):
            st.markdown(_summary(page, user))
            _paged_table(page, user)
            if editable:
                _actions(page, user)
    closed = [page for page in pages if not page.live]
    if closed:
        with st.expander(f"Closed pages ({len(closed)})"):
            for page in closed:
                st.markdown(_summary(page, user))
                _paged_table(page, user)
