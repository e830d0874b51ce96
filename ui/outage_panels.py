"""The platform outage an incident belongs to, as one line on top of the incident page, with attach and unlink.

Linked: "Part of platform outage #N: <title> (M accounts)" with a link to the outage, and Unlink for
whoever may change the incident. Standing alone while its triage said other customers are affected
and outages are open: a compact picker to attach it (editors only). Otherwise nothing. Reading draws
from one read-only unit of work and writes nothing; a change passes the version the person saw
(`ui.incident_actions`), so a change made meanwhile is a conflict, never an overwrite. Who may link
is decided in core (`core.outage.linking`), never here.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.outage import linking
from core.text import markdown_literal
from db.engine import read_scope
from ui.auth import CurrentUser
from ui.incident_actions import run_change, seen_version
from ui.links import page_link
from ui.navigation import PAGES

OUTAGES_PAGE = "outages"


def incident_outage_banner(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """Which platform outage the incident is part of, with attach and detach."""
    with read_scope() as session:
        state = linking.incident_outage(session, incident_id)
    if state is None:
        return
    expected = seen_version(incident_id, state.incident_version)
    if state.outage is not None:
        _linked(incident_id, state.outage, user, editable, now, expected)
    elif editable and state.offer:
        _attach_picker(incident_id, state.offer, user, now, expected)


def outages_link(label: str, outage_id: int | None = None) -> None:
    """A same-tab link to the Platform outages page (to one outage with `outage_id`); its name in text while the
    page is not registered."""
    if any(page.key == OUTAGES_PAGE for page in PAGES):
        page_link(OUTAGES_PAGE, label, query={"id": outage_id} if outage_id else None, icon=":material/hub:")
    else:
        st.caption("See the Platform outages page.")


def _linked(incident_id: int, outage: linking.OutageChoice, user: CurrentUser, editable: bool, now: dt.datetime,
            expected: int) -> None:
    accounts = f"{outage.linked} account{'s' * (outage.linked != 1)}"
    line, link, unlink = st.columns([6, 2, 1.2], vertical_alignment="center")
    with line:
        st.info(markdown_literal(f"Part of platform outage #{outage.id}: {outage.title} ({accounts})"),
                icon=":material/hub:")
    with link:
        outages_link(f"Outage #{outage.id}", outage.id)
    if editable and unlink.button("Unlink", key=f"outage_unlink_{incident_id}",
                                  help="The incident stands alone again; its clocks and messages are its own."):
        run_change(incident_id, lambda session: linking.detach(
            session, incident_id=incident_id, actor=user.actor, now=now, expected_version=expected),
            f"Incident #{incident_id} unlinked from outage #{outage.id}.")


def _attach_picker(incident_id: int, offer: list[linking.OutageChoice], user: CurrentUser, now: dt.datetime,
                   expected: int) -> None:
    labels = {choice.id: choice.label for choice in offer}
    text, pick, button = st.columns([3, 4, 1.2], vertical_alignment="center")
    text.markdown(":blue[**Other customers are affected.**] Attach to a platform outage:")
    chosen = pick.selectbox("Attach to a platform outage", list(labels), format_func=labels.__getitem__,
                            key=f"outage_pick_{incident_id}", label_visibility="collapsed")
    if button.button("Attach", key=f"outage_attach_{incident_id}", type="primary"):
        run_change(incident_id, lambda session: linking.attach(
            session, incident_id=incident_id, outage_id=chosen, actor=user.actor, now=now, expected_version=expected),
            f"Incident #{incident_id} attached to outage #{chosen}.", reset=[f"outage_pick_{incident_id}"])
