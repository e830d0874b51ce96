"""Accounts: the accounts you may see, a new-account form (leads, admins) and CSV import (admins)."""

import pandas as pd
import streamlit as st

from core.account import service as account_service
from core.account.views import accounts_page
from ui.account_forms import account_form, editor_of, import_panel, save_account
from ui.auth import utcnow
from ui.links import opening_table
from ui.page import page_setup

user = page_setup("accounts", "Accounts", ":material/business:")

st.title("Accounts")
editor = editor_of(user)
show_archived = account_service.may_archive(editor) and st.toggle("Show archived accounts", key="accounts_archived")
page = accounts_page(viewer=editor, include_archived=show_archived)
rows = page.rows

if not rows:
    st.info("You own no account yet. A lead assigns accounts to CSMs." if not account_service.may_create(editor)
            else "No account yet: create one below or import a CSV.")
else:
    opening_table(pd.DataFrame([{
        "Name": a.name, "Tier": a.tier, "ACV": float(a.annual_contract_value),
        "Renewal": a.renewal_date, "Owner": a.owner, "Contacts": a.contacts,
        **({"Archived": a.archived} if show_archived else {}),
    } for a in rows]), [a.id for a in rows], key="accounts_table", target="account",
        hint="Tick a row's box to open the account.",
        column_config={"ACV": st.column_config.NumberColumn("ACV", format="%.0f")})
    st.caption(f"{len(rows)} account(s).")

if account_service.may_create(editor):
    with st.expander("New account", expanded=not rows):
        raw = account_form("new_account_", {}, list(page.owners), can_change_owner=True, submit_label="Create account")
        if raw is not None:
            save_account(lambda session: account_service.create_account(
                session, data=account_service.parse_account(raw), editor=editor, now=utcnow()),
                prefix="new_account_", success=f"Account {raw['name']} created.")

if account_service.may_archive(editor):
    with st.expander("Import accounts from CSV"):
        import_panel("accounts", user, utcnow())
