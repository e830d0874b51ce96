"""Account health: accounts ranked by early-warning risk, with reasons, sparklines and triage links."""

import streamlit as st

from core.account import service as account_service
from core.account.views import health_page
from core.text import markdown_literal
from ui.account_forms import editor_of, import_panel
from ui.account_risk import PAGE_SIZE, at_risk_list
from ui.auth import utcnow
from ui.page import page_setup

user = page_setup("health", "Account health", ":material/monitor_heart:")

st.title("Account health")
editor = editor_of(user)
now = utcnow()
health = health_page(viewer=editor, now=now)
report = health.report

scope = "your accounts" if not account_service.may_create(editor) else "every active account"
st.caption(f"Early-warning rules of the team default policy **{markdown_literal(report.policy_name)}**, "
           f"evaluated on {scope}: "
           "readings entered or imported, plus tickets, CSAT and uptime from incidents. "
           "Start a triage from a warning to have its answers filled in.")
left, middle, right = st.columns(3)
left.metric("Accounts watched", len(health.accounts))
middle.metric("Accounts at risk", health.at_risk)
right.metric("Rules evaluated", len(report.rules))
with st.expander("Rules of this policy"):
    for rule in report.rules:
        st.markdown(f"- **{markdown_literal(rule.title)}** ({rule.metric}, {rule.kind}) — "
                    f"{markdown_literal(rule.section)}")

at_risk_list(report, health.accounts, page_size=PAGE_SIZE, time_zone=user.time_zone)

if account_service.may_archive(editor):
    with st.expander("Import health signals from CSV"):
        st.caption("One reading per row: account name, metric (support_tickets, csat, error_rate, uptime_pct, "
                   "key_metric), observed_at (date or ISO time with zone), value, target (key_metric only).")
        import_panel("signals", user, now)
