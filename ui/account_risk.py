"""The at-risk accounts list: each account's risk score, the warnings with their reasons, sparklines,
and a one-click link (same tab) that starts a triage prefilled from a warning.

Used by the Account health page (every visible account) and Home (my or the
team's accounts). Ranking and reasons come from core.account.health via core.account.signals.
"""

from __future__ import annotations

import streamlit as st

from core.account.health import AccountRisk
from core.account.service import AccountSummary
from core.account.signals import HealthReport
from core.account.views import HealthPage, shown_readings
from core.text import markdown_literal
from core.zones import UTC_NAME
from ui.account_charts import sparklines
from ui.links import page_link


def triage_link(account_id: int, rule: str) -> None:
    """A link that opens Triage with the account selected and the warning's answers filled in (ui.account_triage)."""
    page_link("triage", "Start triage", query={"account": account_id, "warning": rule}, icon=":material/emergency:")


# The Account health page draws this many accounts at a time: each brings its sparklines, and a page
# of hundreds of charts took seconds to draw (measured with `make bench`: 5.9 s for 400 accounts).
PAGE_SIZE = 10


def _one_page(ranked: list[AccountRisk], page_size: int) -> list[AccountRisk]:
    """The slice of `ranked` the reader chose with the page picker drawn here."""
    pages = max(1, -(-len(ranked) // page_size))
    if pages == 1:
        return ranked
    number = st.selectbox(f"{len(ranked)} accounts at risk, {page_size} a page", range(1, pages + 1),
                          format_func=lambda n: f"Page {n} of {pages}", key="risk_page")
    return ranked[(number - 1) * page_size:number * page_size]


def at_risk_list(report: HealthReport, accounts: dict[int, AccountSummary], *, limit: int | None = None,
                 page_size: int | None = None, charts: bool = True, time_zone: str = UTC_NAME) -> None:
    """Draw the ranked at-risk accounts (the first `limit`, or every one `page_size` at a time), or say that none
    is at risk; chart times in `time_zone`."""
    ranked = [r for r in report.ranked if r.account_id in accounts]
    if not report.rules:
        st.info(f"The team default policy ({markdown_literal(report.policy_name)}) has no early-warning rules to "
                "evaluate. An admin "
                "can make a policy with early warnings (default, spark or red-status) the team default.")
        return
    if not ranked:
        st.success("No account shows an early-warning signal.")
        return
    shown = ranked[:limit] if limit is not None else _one_page(ranked, page_size or PAGE_SIZE)
    if charts:  # the readings of the accounts drawn, not of every account ranked
        report = shown_readings(report, [risk.account_id for risk in shown])
    for risk in shown:
        account = accounts[risk.account_id]
        with st.container(border=True):
            head, reasons, lines = st.columns([2, 5, 2]) if charts else (*st.columns([2, 5]), None)
            with head:
                page_link("account", f"**{markdown_literal(account.name)}**", query={"id": account.id})
            head.markdown(f"{account.tier} · {markdown_literal(account.owner)}")
            head.caption(f"Risk score {risk.score} · {len(risk.warnings)} warning(s)")
            for warning in risk.warnings:
                predicts = "/".join(warning.predicts) or "—"
                reasons.markdown(f"**{markdown_literal(warning.title)}** (predicts {predicts}): "
                                 f"{markdown_literal(warning.reason)}.")
                with reasons:
                    triage_link(account.id, warning.rule)
            if lines is not None:
                series = [found for metric in dict.fromkeys(w.metric for w in risk.warnings)
                          if (found := report.series(account.id, metric))]
                if series:
                    lines.vega_lite_chart(sparklines(series, time_zone=time_zone), width="content")
    if limit is not None and len(ranked) > limit:
        st.caption(f"{len(ranked) - limit} more account(s) at risk are not shown; open Account health for all.")


def home_panel(health: HealthPage, *, team: bool, limit: int = 5) -> None:
    """Home's section: my at-risk accounts (a CSM's own; the whole team's for leads and admins)."""
    st.subheader("At-risk accounts across the team" if team else "My at-risk accounts")
    at_risk_list(health.report, health.accounts, limit=limit, charts=False)
    page_link("health", "All account health", icon=":material/monitor_heart:")
