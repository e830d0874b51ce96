"""Admin › Users: add people, change roles, disable or re-enable, reset passwords."""

import pandas as pd
import streamlit as st

from core.limits import EMAIL, NAME
from core.people import users
from core.people.access import ROLE_DUTIES, Role
from core.people.views import users_page
from core.text import markdown_literal
from ui.auth import utcnow
from ui.format import local_time
from ui.forms import zone_choice_label, zone_choices
from ui.page import page_setup
from ui.save import save

user = page_setup("admin_users", "Users", ":material/group:")

SECRET = "admin_users_secret"  # a one-time password, shown once after the save that made it
actor = user.actor
ROLES = [r.value for r in Role]

st.title("Users")
st.caption("Roles: " + " · ".join(f"**{r.value}**: {ROLE_DUTIES[r]}" for r in Role))

secret = st.session_state.pop(SECRET, None)
if isinstance(secret, str):
    st.success("One-time password:")
    st.code(secret, language=None)
    st.caption("Shown once. Hand it over privately; it must be changed at first sign-in.")

page = users_page(viewer=user.role)
st.dataframe(pd.DataFrame([{
    "Username": p.username, "Name": p.display_name, "Email": p.email, "Role": p.role, "Active": p.is_active,
    "Must change password": p.must_change_password, "Created": local_time(p.created_at, user.time_zone, "%Y-%m-%d"),
} for p in page.people]), hide_index=True, width="stretch")

add, manage = st.tabs(["Add a user", "Change a user"])
with add, st.form("add_user"):
    username = st.text_input("Username", key="new_username", placeholder="e.g. jdoe")
    name = st.text_input("Name", key="new_name", max_chars=NAME.max_chars)
    email = st.text_input("Email", key="new_email", max_chars=EMAIL.max_chars)
    role = st.selectbox("Role", ROLES, key="new_role")
    zone = st.selectbox("Time zone", zone_choices(), key="new_zone",
                        format_func=zone_choice_label(None, "their browser's"),
                        help="Automatic shows their times in their browser's zone until they pick one.")
    if st.form_submit_button("Add user", type="primary"):
        save(lambda s: users.create_user(s, username=username, display_name=name, email=email, role=role,
                                         time_zone=zone or None, actor=actor, now=utcnow())[1],
             done=f"User {username.strip().lower()} added.", keep=SECRET)

with manage:
    target = st.selectbox("User", [p.username for p in page.people], key="manage_user")
    chosen = page.get(target)
    if chosen is not None:
        st.markdown(f"**{markdown_literal(chosen.display_name)}** · role `{chosen.role}` · "
                    f"{'active' if chosen.is_active else 'disabled'}")
        new_role = st.selectbox("New role", ROLES, index=ROLES.index(chosen.role), key="manage_role")
        c1, c2, c3 = st.columns(3)
        if c1.button("Change role", key="btn_role"):
            save(lambda s: users.set_role(s, username=target, role=new_role, actor=actor, now=utcnow()),
                 done=f"{target} is now {new_role}.")
        if chosen.is_active and c2.button("Disable", key="btn_disable"):
            save(lambda s: users.set_active(s, username=target, active=False, actor=actor, now=utcnow()),
                 done=f"{target} is disabled and signed out everywhere.")
        if not chosen.is_active and c2.button("Re-enable", key="btn_enable"):
            save(lambda s: users.set_active(s, username=target, active=True, actor=actor, now=utcnow()),
                 done=f"{target} is enabled again.")
        if c3.button("Reset password", key="btn_reset"):
            save(lambda s: users.reset_password(s, username=target, actor=actor, now=utcnow()),
                 done=f"Password of {target} reset; their sessions are signed out.", keep=SECRET)
