"""Account page (`/account?id=N`): details and contacts, edit and archive, its incidents, SLA attainment,
communication history and health trend."""

from ui.page import page_setup

user = page_setup("account", "Account", ":material/domain:")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.account import service as account_service  # noqa: E402
from core.account import signals
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui import account_panels  # noqa: E402
from ui.account_forms import editor_of, pop_notice  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import local_time  # noqa: E402
from ui.page import id_from_link  # noqa: E402

account_id = id_from_link(
    "Account", "Open an account from the [Accounts](/accounts) page or the [Account health](/health) page.")
editor, now = editor_of(user), utcnow()
with read_scope() as session:
    view = account_service.account_view(session, account_id, now=now)
    report = signals.health_report(session, [view.id], now) if view else None
    owners = account_service.owners(session)
if view is None or not account_service.may_see(editor, view.owner_id):
    st.title("Account")
    st.error(f"Account {account_id} does not exist or is not one of yours. CSMs see the accounts they own.")
    st.stop()

st.title(markdown_literal(view.name))
pop_notice()
if view.archived_at:
    st.warning(f"Archived on {local_time(view.archived_at, user.time_zone)}: hidden from lists and triage; "
               "its history stays here.")
account_panels.summary(view, user)

tabs = st.tabs(["Health", f"Incidents ({view.incident_total})", "SLA attainment", "Communications", "Edit"])
with tabs[0]:
    account_panels.health(view, report, user, now)
with tabs[1]:
    if not view.incidents:
        st.info("No incident on this account yet.")
    else:
        st.dataframe(pd.DataFrame([{
            "Open": f"/incident?id={i.id}", "ID": i.id, "Severity": i.severity + (" · RED" if i.red_status else ""),
            "Title": i.title, "Status": i.status, "Detected": local_time(i.detected_at, user.time_zone),
        } for i in view.incidents]), hide_index=True, width="stretch",
            column_config={"Open": st.column_config.LinkColumn("Open", display_text="open")})
        if view.incident_total > len(view.incidents):
            st.caption(f"The latest {len(view.incidents)} of {view.incident_total} incidents.")
with tabs[2]:
    account_panels.attainment(view)
with tabs[3]:
    account_panels.communications(view, user)
with tabs[4]:
    account_panels.edit(view, editor, owners, now)
