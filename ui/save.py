"""The one way a page saves a simple form: one unit of work, a readable refusal, a toast after the rerun.

A page hands `save()` a function that does the write through `core`; this module
opens the unit of work, turns the errors a person can fix into a message next to
the form (which keeps what was typed) and, on success, queues a confirmation,
clears the form's widgets and reruns. It must never catch programming errors
(only the user-facing errors of core, all ValueError or MailError) and never
write outside the unit of work it opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from core.communication.mail import MailError
from core.text import markdown_literal
from db.engine import session_scope

T = TypeVar("T")

# Every user-facing error of core subclasses ValueError (UserError, PolicyError, IncidentError,
# ConflictError, ReportError and ReportForbidden, CommunicationError, AccountError, ...),
# except mail delivery problems.
USER_ERRORS: tuple[type[Exception], ...] = (ValueError, MailError)
_TOAST = "saved_toast"


def save(write: Callable[[Session], T], *, done: str, reset: Sequence[str] = ()) -> T | None:
    """Run write(session) in one unit of work; explain a refusal and return None, or queue `done` and rerun.

    On an error the person can fix, show st.error(markdown_literal(message)) and return None: the form
    keeps what was typed. On success: queue `done` as a toast shown after the rerun, delete the
    session_state keys in `reset` (clears the form's widgets), st.rerun().
    """
    try:
        with session_scope() as session:
            result = write(session)
    except USER_ERRORS as error:
        st.error(markdown_literal(error))
        return None
    st.session_state[_TOAST] = done
    for key in reset:
        st.session_state.pop(key, None)
    st.rerun()
    return result  # not reached: st.rerun() stops the script


def show_saved() -> None:
    """Show the toast queued by save(), once (page_setup calls it)."""
    message = st.session_state.pop(_TOAST, None)
    if message:
        st.toast(markdown_literal(message), icon=":material/check_circle:")
