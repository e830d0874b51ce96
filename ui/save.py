"""The one way a page saves a simple form: one unit of work, the person's error shown, a toast after the rerun.

`save(write, done=..., reset=...)` runs `write(session)` inside
`db.engine.session_scope`. An error the person can fix (a ValueError, which
every user-facing error of core derives from, or a permission refusal) is
shown above the form, which keeps what was typed; nothing else is caught, so
a bug still shows as one. On success the message is queued and shown once as
a toast by `show_saved()` (which `ui.page.page_setup` calls) after the rerun.
This module never decides what may be saved: core does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st
from sqlalchemy.orm import Session

from core.account.service import AccountError, AccountForbidden
from core.account.signals import SignalError
from core.communication.flows import CommunicationError
from core.communication.mail import MailError
from core.incident.flows import ConflictError, IncidentError
from core.incident.lifecycle import IllegalMove
from core.incident.reviews import ReviewError
from core.people.passwords import PasswordRuleError
from core.people.users import UserError
from core.policy.loading import PolicyError
from core.report.flows import ReportError, ReportForbidden
from core.text import markdown_literal
from core.zones import UnknownTimeZone
from db.engine import session_scope

T = TypeVar("T")

_TOAST = "_saved_toast"

# What a person can fix by changing what they typed, or by asking for the right. Every one of core's
# own errors derives from ValueError (listed by name so a reader sees which they are); PermissionError
# covers the *Forbidden refusals; MailError is the one that does not derive from ValueError.
USER_ERRORS: tuple[type[Exception], ...] = (
    UserError, PasswordRuleError, PolicyError, IncidentError, ConflictError, IllegalMove, ReviewError,
    AccountError, AccountForbidden, SignalError, CommunicationError, ReportError, ReportForbidden,
    UnknownTimeZone, ValueError, PermissionError,
    MailError,  # SMTP settings: a refused server or address is for the admin to fix, not a crash
)


def queue_toast(message: str) -> None:
    """Show `message` as a toast on the next run (after a save's rerun)."""
    st.session_state[_TOAST] = message


def save(write: Callable[[Session], T], *, done: str, reset: Sequence[str] = (), keep: str | None = None) -> T | None:
    """Run write(session) in one unit of work; on a fixable error show it and return None (the form keeps what
    was typed); on success queue `done` as a toast, forget the `reset` widget keys, keep the result under
    `keep` in session_state when given (for a page that shows it once, e.g. a one-time password), rerun."""
    try:
        with session_scope() as session:
            result = write(session)
    except USER_ERRORS as error:
        st.error(markdown_literal(error))
        return None
    queue_toast(done)
    for key in reset:
        st.session_state.pop(key, None)
    if keep is not None:
        st.session_state[keep] = result
    st.rerun()
    return result  # not reached: st.rerun() ends this run


def show_saved() -> None:
    """Show the toast queued by save(), once (page_setup calls it)."""
    message = st.session_state.pop(_TOAST, None)
    if message:
        st.toast(markdown_literal(message), icon=":material/check_circle:")
