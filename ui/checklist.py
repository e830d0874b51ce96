"""The triage checklist form, drawn from the field metadata in `core.triage.rules`.

Widgets are keyed `answer_<field>` so a refused submission keeps every answer.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.limits import TITLE
from core.triage.rules import ANSWER_FIELDS, FIELD_CHOICES, FIELD_HELP, FIELD_LABELS, FLAG_FIELDS, NUMBER_FIELDS

NOT_ANSWERED = "— not answered —"
# Filled from the chosen account, not typed.
ACCOUNT_FIELDS = ("customer", "customer_tier", "annual_contract_value")
LIMITS = {"users_affected_pct": 100.0, "csat": 10.0, "uptime_pct": 100.0, "metric_shortfall_pct": 100.0}


def checklist(prefill: dict[str, Any] | None = None) -> dict[str, Any]:
    """Draw the checklist (grouped like the playbooks) and return the answers given so far."""
    prefill = prefill or {}
    answers: dict[str, Any] = {}
    for group, group_fields in ANSWER_FIELDS:
        fields = [f for f in group_fields if f not in ACCOUNT_FIELDS]
        if not fields:
            continue
        with st.expander(group, expanded=group != "Figures"):
            columns = st.columns(2)
            for index, name in enumerate(fields):
                with columns[index % 2]:
                    value = _widget(name, prefill.get(name))
                if value is not None and value is not False:
                    answers[name] = value
    return answers


def _widget(name: str, prefill: Any) -> Any:
    key = f"answer_{name}"
    if prefill is not None and key not in st.session_state:
        st.session_state[key] = prefill
    label, help_text = FIELD_LABELS[name], FIELD_HELP[name]
    if name in FLAG_FIELDS:
        return st.checkbox(label, key=key, help=help_text)
    if name in FIELD_CHOICES:
        options = [NOT_ANSWERED, *FIELD_CHOICES[name]]
        choice = st.selectbox(label, options, key=key, help=help_text)
        return None if choice == NOT_ANSWERED else choice
    if name in NUMBER_FIELDS:
        default = {} if key in st.session_state else {"value": None}
        return st.number_input(label, min_value=0.0, max_value=LIMITS.get(name), key=key,
                               help=help_text, placeholder="not answered", **default)
    return st.text_input(label, key=key, help=help_text, max_chars=TITLE.max_chars) or None
