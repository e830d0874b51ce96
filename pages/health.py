"""Account health: accounts ranked by early-warning risk, with reasons, sparklines and triage links."""

from ui.page import page_setup

user = page_setup("health", "Account health", ":material/monitor_heart:")

import streamlit as st  # noqa: E402

from core.account import service as account_service  # noqa: E402
from core.account import signals
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope  # noqa: E402
from ui.account_forms import editor_of, import_panel, pop_notice  # noqa: E402
from ui.account_risk import at_risk_list  # noqa: E402
from ui.auth import utcnow  # noqa: E402

st.title("Account health")
pop_notice()
editor = editor_of(user)
now = utcnow()
with read_scope() as session:
    visible = {a.id: a for a in account_service.list_accounts(session, editor)}
    report = signals.health_report(session, list(visible), now)

scope = "your accounts" if not account_service.may_create(editor) else "every active account"
st.caption(f"Early-warning rules of the team default policy **{markdown_literal(report.policy_name)}**, "
           f"evaluated on {scope}: "
           "readings entered or imported, plus tickets, CSAT and uptime from incidents. "
           "Start a triage from a warning to have its answers filled in.")
left, middle, right = st.columns(3)
left.metric("Accounts watched", len(visible))
middle.metric("Accounts at risk", len([r for r in report.ranked if r.account_id in visible]))
right.metric("Rules evaluated", len(report.rules))
with st.expander("Rules of this policy"):
    for rule in report.rules:
        st.markdown(f"- **{markdown_literal(rule.title)}** ({rule.metric}, {rule.kind}) — "
                    f"{markdown_literal(rule.section)}")

at_risk_list(report, visible)

if account_service.may_archive(editor):
    with st.expander("Import health signals from CSV"):
        st.caption("One reading per row: account name, metric (support_tickets, csat, error_rate, uptime_pct, "
                   "key_metric), observed_at (date or ISO time with zone), value, target (key_metric only).")
        import_panel("signals", user, now)
