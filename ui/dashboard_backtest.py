"""The policy backtest section of the dashboard: pick a policy or paste a draft, replay recent incidents.

The replay itself is core.sla.backtest (bounded to its most recent
MAX_INCIDENTS incidents); this module reads the form, shows errors that say
what to fix, and draws the side-by-side result. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.people.access import Role
from core.policy.loading import PolicyError, parse_policy
from core.sla import backtest as sla_backtest
from core.text import markdown_literal
from db.engine import read_scope
from ui import dashboard_charts as charts
from ui.auth import CurrentUser

DRAFT = "A draft (paste YAML)"


def _frame(result: sla_backtest.Backtest) -> pd.DataFrame:
    rows = []
    for line in result.lines:
        for side, counts in (("In force", line.in_force), (f"{result.policy} (replay)", line.candidate)):
            rows.append({"Clock": line.label, "Policy": side, "Met": counts.met, "Breached": counts.breached,
                         "Still open": counts.running + counts.paused,
                         "Attainment %": None if counts.pct is None else round(counts.pct, 1)})
    return pd.DataFrame(rows)


def backtest_section(user: CurrentUser, policies: dict[str, str], now: dt.datetime) -> None:
    """Draw the backtest form and, once submitted, the comparison."""
    st.caption(f"Replays at most the {sla_backtest.MAX_INCIDENTS:,} most recent incidents of the period: each is "
               "triaged again from its answers under the chosen policy and timed with its real milestones. "
               "The 'in force' column counts the same incidents under the policy they were opened with.")
    with st.form("backtest"):
        c1, c2 = st.columns([2, 1])
        choice = c1.selectbox("Policy to replay", [*policies, DRAFT], key="bt_policy")
        months = c2.number_input("Months back", min_value=1, max_value=sla_backtest.MAX_MONTHS, value=3,
                                 key="bt_months")
        draft = st.text_area("Draft policy YAML (only used with 'a draft')", key="bt_draft", height=150)
        submitted = st.form_submit_button("Replay", type="primary")
    if not submitted:
        return
    try:
        text, source = (draft, "draft") if choice == DRAFT else (policies[choice], choice)
        if not text.strip():
            raise PolicyError("draft: paste a whole policy YAML (start from a preset on the Policies page).")
        candidate = parse_policy(text, source)
    except PolicyError as error:
        st.error(f"The policy cannot be replayed: {markdown_literal(error)}")
        return
    with read_scope() as session:
        result = sla_backtest.backtest(session, candidate, months=int(months), now=now,
                                       csm_id=user.id if user.role is Role.CSM else None)
    used = f"{result.incidents_used:,} of {result.incidents_in_period:,} incidents since {result.since:%d %b %Y}"
    st.write(f"Replayed **{used}**" + (" (the most recent ones; the rest were left out)." if result.capped else "."))
    st.caption(f"{result.severity_changed:,} incidents would get another severity under "
               f"{markdown_literal(result.policy)}.")
    frame = _frame(result)
    if frame.empty:
        st.info("No incident in that period.")
        return
    import altair as alt  # noqa: PLC0415 -- only once a replay is asked for: a large import

    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("Policy:N", title=None), y="Breached:Q", color="Policy:N", column=alt.Column("Clock:N", title=None),
        tooltip=["Clock", "Policy", "Met", "Breached", "Attainment %"]).properties(title="Breached clocks")
    charts.show_altair(chart, "backtest")
    charts.table(frame, "backtest")
