"""My profile: name, email, time zone, how I am paged, and password of the signed-in user."""

import streamlit as st

from core.limits import EMAIL, NAME
from core.people import users
from core.people.time_display import ShowTimesIn
from ui import auth
from ui.forms import (
    FOLLOW_BROWSER,
    password_change_form,
    show_times_label,
    zone_choice_label,
    zone_choices,
)
from ui.page import page_setup
from ui.reach_form import how_i_am_paged
from ui.save import save

user = page_setup("profile", "My profile", ":material/person:")

st.title("My profile")
st.caption(f"Signed in as `{user.username}` · role `{user.role.value}` (an administrator changes roles).")

if user.must_change_password:
    st.warning("You signed in with a one-time password: choose your own password below.")

st.subheader("Details")
with st.form("profile"):
    name = st.text_input("Name", value=user.name, key="profile_name", max_chars=NAME.max_chars)
    email = st.text_input("Email", value=user.email, key="profile_email", max_chars=EMAIL.max_chars)
    zones = zone_choices()
    zone = st.selectbox("My time zone", zones, key="profile_zone",
                        index=zones.index(user.zone.own if user.time_zone_chosen else FOLLOW_BROWSER),
                        format_func=zone_choice_label(auth.browser_time_zone()),
                        help="Automatic follows the zone of the browser you use, until you pick one.")
    choices = list(ShowTimesIn)
    shows = st.radio("Show times in", choices, index=choices.index(user.zone.shows), key="profile_show_times_in",
                     format_func=show_times_label(user.zone.own), horizontal=True,
                     help="Every page and export shows times in this zone. Messages to clients always use "
                          "the client's zone.")
    saved = st.form_submit_button("Save details")
if saved:
    save(lambda session: users.update_profile(session, user_id=user.id, display_name=name, email=email,
                                              time_zone=zone or None, show_times_in=shows, now=auth.utcnow()),
         done="Details saved.")

st.subheader("Password")
if password_change_form(user):
    st.button("Continue")

st.subheader("How I am paged")
how_i_am_paged(user)
