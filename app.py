"""Escalation Desk entry point: the router. Run with `make run`.

It only decides which pages the sidebar offers to the signed-in user's role,
after migrating the database at start (`streamlit run app.py` on a database
`python -m core init` never saw works too). It is not the login gate: each
page enforces sign-in and role itself and prepares the database too
(`ui.page.page_setup`), because a cold server serves page URLs before this
script ever runs.
"""

import streamlit as st

from ui.auth import current_user
from ui.navigation import navigation
from ui.page import require_database

require_database()
user = current_user()
pages = navigation(user.role if user else None)
position = "sidebar" if user else "hidden"
st.navigation(pages, position=position).run()
