"""Starting a triage from an early warning: `/triage?account=<id>&warning=<rule>`.

The health page links here; this preselects the account and fills the triage
answers the warning implies (e.g. a CSAT under 7 fills the CSAT answer), once
per link, before the checklist widgets are drawn, so later reruns never
overwrite what the person changed. Which answers a warning
implies is decided in core.account.health; this module only moves them into widgets.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.account import signals
from core.account.access import AccountChoice
from core.account.health import triage_prefill
from core.text import markdown_literal
from db.engine import read_scope

_NOTE = "triage_warning_note"
_APPLIED = "warning_handoff_applied"  # not "triage_": survives the reset after opening


def prefill_from_warning(choices: list[AccountChoice], now: dt.datetime) -> None:
    """Apply `?account=&warning=` to the triage widgets' state (once) and say what was filled in."""
    raw_account = st.query_params.get("account")
    rule = st.query_params.get("warning", "")
    # Applied once per link: later reruns (and the rerun after "Open incident") keep what the person has.
    # The parameters stay in the URL: removing them mid-run made the browser drop the text fields' values.
    if raw_account is not None and st.session_state.get(_APPLIED) != (raw_account, rule):
        st.session_state[_APPLIED] = (raw_account, rule)
        _apply(raw_account, rule, choices, now)
    note = st.session_state.get(_NOTE)
    if note:
        st.info(markdown_literal(note), icon=":material/monitor_heart:")


def _apply(raw_account: str, rule: str, choices: list[AccountChoice], now: dt.datetime) -> None:
    choice = next((c for c in choices if str(c.id) == raw_account.strip()), None)
    if choice is None:
        st.session_state[_NOTE] = None
        st.warning(markdown_literal(f"Account {raw_account!r} is not one you can open incidents on (it may be "
                                    "archived or owned by someone else). Pick the account below."))
        return
    for key in [k for k in st.session_state if str(k).startswith("answer_")]:
        del st.session_state[key]
    st.session_state["triage_account"] = choice
    warning = None
    if rule:
        with read_scope() as session:
            warning = signals.warning_for(session, choice.id, rule, now)
    if warning is None:
        st.session_state[_NOTE] = (f"{choice.name} is selected. The early warning {rule!r} does not fire for it any "
                                   "more, so no answer was filled in." if rule else f"{choice.name} is selected.")
        return
    filled = triage_prefill(warning)
    for name, value in filled.items():
        st.session_state[f"answer_{name}"] = value
    st.session_state["triage_title"] = f"Early warning: {warning.title}"
    st.session_state["triage_summary"] = warning.reason
    implied = ", ".join(f"{k} = {v:g}" for k, v in filled.items()) or "no checklist answer (this signal has none)"
    st.session_state[_NOTE] = (f"Started from the early warning \u201c{warning.title}\u201d on {choice.name}: "
                               f"{warning.reason}. Filled in: {implied}. Check the other answers before opening.")
