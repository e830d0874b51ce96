"""Newer / Older buttons for a list read a page at a time; the page number lives in session state.

Must never read data: the page calls its read model with the number this keeps.
"""

from __future__ import annotations

import streamlit as st


def newer_older(state_key: str, number: int, pages: int) -> None:
    """Buttons to the newer and older page around page `number` of `pages` (0 = newest), kept under `state_key`."""
    back, forward = st.columns(2)
    if number > 0 and back.button("Newer", icon=":material/arrow_back:", key=f"{state_key}_newer"):
        st.session_state[state_key] = number - 1
        st.rerun()
    if number + 1 < pages and forward.button("Older", icon=":material/arrow_forward:", key=f"{state_key}_older"):
        st.session_state[state_key] = number + 1
        st.rerun()
