"""The one call every page makes first: page config, database, sign-in, role check, sidebar.

A freshly started Streamlit server serves `pages/x.py` by URL before
`app.py` has ever run, so neither the gate nor the start-up migration can
live in the router alone: each page calls `page_setup()` as its first line.
This module must never render page content itself, never let a page run
for someone it refuses, and never show a visitor a traceback because the
database is not ready.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.incident.views import incident_exists
from core.people.access import PAGE_ACCESS, ROLE_LABELS, can_open, roles_for
from core.text import markdown_literal
from db.migrate import DatabaseNotReady, prepare_database
from ui import app_address, auth
from ui.auth import CurrentUser
from ui.forms import password_change_form
from ui.inbox import inbox_badge
from ui.links import go_to, page_link
from ui.navigation import spec
from ui.save import show_saved


def require_database() -> None:
    """Migrate the database at start (once per process); when that cannot be done, say what to run and stop.

    Also the place of the other once-per-process start-up check: the app's own address (ui.app_address).
    """
    app_address.check_at_start()
    try:
        prepare_database()
    except DatabaseNotReady as problem:
        st.title("Escalation Desk")
        st.error(str(problem))
        st.stop()


def id_from_link(title: str, how_to_open: str, ways_in: Sequence[str] = ()) -> int:
    """The number in this page's `?id=`; without one, title the page, say how to open it, link `ways_in`, stop."""
    raw = st.query_params.get("id", "")
    if not raw.isdigit():
        st.title(title)
        st.info(how_to_open)
        for key in ways_in:
            page_link(key, spec(key).title, icon=spec(key).icon)
        st.stop()
    return int(raw)


def page_setup(page: str, title: str, icon: str = "") -> CurrentUser:
    """Configure the page, require a signed-in user allowed on `page`, draw the sidebar, show a queued toast."""
    if page not in PAGE_ACCESS:
        raise KeyError(f"page {page!r} is not in core.people.access.PAGE_ACCESS")
    st.set_page_config(page_title=f"{title} · Escalation Desk", page_icon=icon or None, layout="wide")
    require_database()
    user, authenticator = auth.require_user()
    _sidebar(user, authenticator)
    if user.must_change_password and page != "profile":
        _force_password_change(user)
    if not can_open(user.role, page):
        allowed = ", ".join(r.value for r in roles_for(page))
        st.error(
            f"Your role ({user.role.value}) cannot open {title}. It is for: {allowed}. "
            "Ask an administrator if you need access."
        )
        st.stop()
    show_saved()
    return user


def _sidebar(user: CurrentUser, authenticator) -> None:
    with st.sidebar:
        st.markdown(f"**{markdown_literal(user.name)}**  \n{ROLE_LABELS[user.role]} · `{user.username}`")
        st.caption(f"Times shown in {user.zone.label}")
        inbox_badge(user.id)
        if can_open(user.role, "incident"):
            _go_to_incident()
        if st.button("Sign out", key="sign_out_button", width="stretch"):
            auth.sign_out(authenticator)
            st.rerun()


def _go_to_incident() -> None:
    # A form: typing the number and pressing Enter is one action, and a half-typed number never navigates.
    # The button is not "Open incident": Triage has that one, and it opens a new incident.
    with st.form("go_to_incident", border=False, enter_to_submit=True):
        number = st.number_input("Go to incident #", min_value=1, max_value=2**31 - 1, step=1, value=None,
                                 placeholder="number",
                                 key="go_to_incident_number")
        if st.form_submit_button("Go", icon=":material/arrow_forward:", width="stretch"):
            if number is None:
                st.warning("Type an incident number first.")
            elif incident_exists(int(number)):
                go_to("incident", id=int(number))
            else:
                st.error(f"There is no incident #{int(number)}.")


def _force_password_change(user: CurrentUser) -> None:
    st.title("Choose your own password")
    st.info(
        "You signed in with a one-time password. Choose your own password to continue: "
        "at least 12 characters, at most 72 bytes."
    )
    if password_change_form(user):
        st.button("Continue", type="primary")
    st.stop()
