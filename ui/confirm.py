"""Asking before an irreversible or downward move: one dialog, the question from core, the change on "yes".

Which moves ask is decided in core (`core.incident.lifecycle.move_confirmation`,
`severity_confirmation`); this module only asks. The change runs inside the
dialog when the person says yes, so nothing is saved by the first click alone.
The question stays open across reruns (the cockpit redraws itself every 10 s)
until it is answered or dismissed; one question is open at a time. Buttons
inside `st.dialog` do not run under AppTest (streamlit#9786): the question is
also shown on the page, so tests see that it was asked and that nothing changed;
the answer is tested in the browser.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.text import markdown_literal

_OPEN = "confirm_open"


def _forget() -> None:
    st.session_state.pop(_OPEN, None)


@st.dialog("Please confirm", on_dismiss=_forget)
def _ask(question: str, yes_label: str, key: str, apply: Callable[[], object]) -> None:
    st.markdown(markdown_literal(question))
    yes, no = st.columns(2)
    if yes.button(yes_label, type="primary", key=f"{key}_yes", width="stretch"):
        _forget()
        apply()
    if no.button("Cancel", key=f"{key}_no", width="stretch"):
        _forget()
        st.rerun()


def confirm(question: str, *, yes_label: str, key: str, apply: Callable[[], object], ask: bool) -> None:
    """Ask `question` when `ask` is true (the person just clicked) and keep asking on later runs until it is
    answered or dismissed; `apply()` runs only when the person answers `yes_label`."""
    if ask:
        st.session_state[_OPEN] = (key, question)
    if st.session_state.get(_OPEN) != (key, question):
        return
    st.warning(markdown_literal(question))
    _ask(question, yes_label, key, apply)
