"""SLA clocks and what is measured on them: clock states, incident facts, metrics, the summary tables and backtests.

`clocks` and `metrics` are pure functions of facts, a policy and `now`. `projection` keeps the
summary tables current in the caller's transaction; `queries` reads them for the dashboard.
It must never import streamlit, and never change an incident's own record.
"""
