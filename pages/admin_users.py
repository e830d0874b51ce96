"""Admin › Users: add people, change roles, disable or re-enable, reset passwords."""

from ui.page import page_setup

user = page_setup("admin_users", "Users", ":material/group:")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.limits import EMAIL, NAME  # noqa: E402
from core.people import users  # noqa: E402
from core.people.access import ROLE_DUTIES, Role  # noqa: E402
from core.people.passwords import PasswordRuleError  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope, session_scope  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import local_time  # noqa: E402
from ui.forms import time_zone_options  # noqa: E402

actor = users.Actor(id=user.id, name=user.username)
ROLES = [r.value for r in Role]

st.title("Users")
st.caption("Roles: " + " · ".join(f"**{r.value}**: {ROLE_DUTIES[r]}" for r in Role))

notice = st.session_state.pop("admin_users_notice", None)
if notice:
    st.success(markdown_literal(notice[0]))
    if notice[1]:
        st.code(notice[1], language=None)
        st.caption("Shown once. Hand it over privately; it must be changed at first sign-in.")

with read_scope() as session:
    people = users.list_users(session)
    table = pd.DataFrame(
        [
            {
                "Username": p.username,
                "Name": p.display_name,
                "Email": p.email,
                "Role": p.role,
                "Active": p.is_active,
                "Must change password": p.must_change_password,
                "Created": local_time(p.created_at, user.time_zone, "%Y-%m-%d"),
            }
            for p in people
        ]
    )
st.dataframe(table, hide_index=True, width="stretch")


def run(change, success: str) -> None:
    """Apply one change in its own unit of work; keep the form as typed on error."""
    try:
        with session_scope() as session:
            secret = change(session)
    except (users.UserError, PasswordRuleError, ValueError) as error:
        st.error(markdown_literal(error))
        return
    st.session_state["admin_users_notice"] = (success, secret if isinstance(secret, str) else None)
    st.rerun()


add, manage = st.tabs(["Add a user", "Change a user"])
with add, st.form("add_user"):
    username = st.text_input("Username", key="new_username", placeholder="e.g. jdoe")
    name = st.text_input("Name", key="new_name", max_chars=NAME.max_chars)
    email = st.text_input("Email", key="new_email", max_chars=EMAIL.max_chars)
    role = st.selectbox("Role", ROLES, key="new_role")
    zones = time_zone_options()
    zone = st.selectbox("Time zone", zones, key="new_zone")
    if st.form_submit_button("Add user", type="primary"):
        run(
            lambda s: users.create_user(
                s, username=username, display_name=name, email=email, role=role,
                time_zone=zone, actor=actor, now=utcnow(),
            )[1],
            f"User {username.strip().lower()} added. One-time password:",
        )

with manage:
    names = [p.username for p in people]
    target = st.selectbox("User", names, key="manage_user")
    chosen = next(p for p in people if p.username == target)
    st.markdown(f"**{markdown_literal(chosen.display_name)}** · role `{chosen.role}` · "
             f"{'active' if chosen.is_active else 'disabled'}")
    new_role = st.selectbox("New role", ROLES, index=ROLES.index(chosen.role), key="manage_role")
    c1, c2, c3 = st.columns(3)
    if c1.button("Change role", key="btn_role"):
        run(lambda s: users.set_role(s, username=target, role=new_role, actor=actor, now=utcnow()),
            f"{target} is now {new_role}.")
    if chosen.is_active and c2.button("Disable", key="btn_disable"):
        run(lambda s: users.set_active(s, username=target, active=False, actor=actor, now=utcnow()),
            f"{target} is disabled and signed out everywhere.")
    if not chosen.is_active and c2.button("Re-enable", key="btn_enable"):
        run(lambda s: users.set_active(s, username=target, active=True, actor=actor, now=utcnow()),
            f"{target} is enabled again.")
    if c3.button("Reset password", key="btn_reset"):
        run(lambda s: users.reset_password(s, username=target, actor=actor, now=utcnow()),
            f"Password of {target} reset; their sessions are signed out. One-time password:")
