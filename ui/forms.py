"""Forms shared by several pages. Each validates through `core` and keeps what was typed on error."""

from __future__ import annotations

import functools
from collections.abc import Callable

import streamlit as st

from core.people import users
from core.people.passwords import PasswordRuleError
from core.people.time_display import ShowTimesIn, valid_zone
from core.text import markdown_literal
from core.zones import UTC_NAME, zone_names
from db.engine import session_scope
from ui import auth
from ui.auth import CurrentUser


@functools.cache
def time_zone_options() -> list[str]:
    """Every IANA time zone name, sorted, UTC first."""
    return [UTC_NAME, *(z for z in zone_names() if z != UTC_NAME)]


# The zone choice that follows the browser (stores no zone).
FOLLOW_BROWSER = ""


def zone_choices() -> list[str]:
    """The zone picker's options: follow the browser first, then every zone (UTC first)."""
    return [FOLLOW_BROWSER, *time_zone_options()]


def zone_choice_label(browser: str | None, whose: str = "this browser's") -> Callable[[str], str]:
    """How the zone picker names each option; the first one follows the browser and says what it gives now."""
    seen = valid_zone(browser)
    automatic = f"Automatic: {whose} zone" + (f" ({seen})" if seen else "")
    return lambda option: automatic if option == FOLLOW_BROWSER else option


def show_times_label(own_zone: str) -> Callable[[str], str]:
    """How the "Show times in" choice names its two options."""
    return lambda option: f"My time zone ({own_zone})" if option == ShowTimesIn.MINE else "UTC"


def password_change_form(user: CurrentUser) -> bool:
    """Let the signed-in user replace their password; True once it has been changed."""
    # A new generation of widget keys empties the form after a successful change,
    # while a refused change keeps what was typed.
    gen = st.session_state.setdefault("_pw_form_generation", 0)
    with st.form(f"change_password_{gen}", clear_on_submit=False):
        current = st.text_input("Current password", type="password", key=f"pw_current_{gen}")
        new = st.text_input(
            "New password",
            type="password",
            key=f"pw_new_{gen}",
            help="At least 12 characters and at most 72 bytes; no leading or trailing space.",
        )
        repeat = st.text_input("Repeat the new password", type="password", key=f"pw_repeat_{gen}")
        submitted = st.form_submit_button("Change password", type="primary")
    if not submitted:
        return False
    if new != repeat:
        st.error("The two new passwords differ. Type the same password twice.")
        return False
    try:
        with session_scope() as session:
            users.change_own_password(
                session, user_id=user.id, current=current, new=new, now=auth.utcnow()
            )
    except (users.UserError, PasswordRuleError) as error:
        st.error(markdown_literal(error))
        return False
    auth.refresh_cookie_after_password_change()
    st.session_state["_pw_form_generation"] = gen + 1
    st.success("Password changed. Other sessions signed in with the old password have been signed out.")
    return True
