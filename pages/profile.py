"""My profile: name, email, time zone and password of the signed-in user."""

import streamlit as st

from core.limits import EMAIL, NAME
from core.people import users
from ui import auth
from ui.forms import password_change_form, time_zone_options
from ui.page import page_setup
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
    zones = time_zone_options()
    zone = st.selectbox("Time zone for showing times", zones, index=zones.index(user.time_zone),
                        key="profile_zone")
    saved = st.form_submit_button("Save details")
if saved:
    save(lambda session: users.update_profile(session, user_id=user.id, display_name=name, email=email,
                                              time_zone=zone, now=auth.utcnow()),
         done="Details saved.")

st.subheader("Password")
if password_change_form(user):
    st.button("Continue")
