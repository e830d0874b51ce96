"""Account page (`/account?id=N`): details and contacts, edit and archive, its incidents, SLA attainment,
communication history and health trend."""

import streamlit as st

from core.account.views import account_page
from core.text import markdown_literal
from ui import account_panels
from ui.account_forms import editor_of
from ui.auth import utcnow
from ui.format import local_time
from ui.page import id_from_link, page_setup

user = page_setup("account", "Account", ":material/domain:")

account_id = id_from_link("Account", "Open an account from the Accounts page or the Account health page.",
                          ways_in=("accounts", "health"))
editor, now = editor_of(user), utcnow()
page = account_page(account_id, viewer=editor, now=now)
if page is None:
    st.title("Account")
    st.error(f"Account {account_id} does not exist or is not one of yours. CSMs see the accounts they own.")
    st.stop()
view = page.view

st.title(markdown_literal(view.name))
if view.archived_at:
    st.warning(f"Archived on {local_time(view.archived_at, user.time_zone)}: hidden from lists and triage; "
               "its history stays here.")
account_panels.summary(view, user)

tabs = st.tabs(["Health", f"Incidents ({view.incident_total})", "SLA attainment", "Communications", "Edit"])
with tabs[0]:
    account_panels.health(view, page.report, user, now)
with tabs[1]:
    account_panels.incidents(view, user)
with tabs[2]:
    account_panels.attainment(view)
with tabs[3]:
    account_panels.communications(view, user)
with tabs[4]:
    account_panels.edit(view, editor, list(page.owners), now)
