"""Running one incident change from a page: the version the person saw, conflicts, messages.

Every change passes the version that was on screen when the person clicked,
so a change someone else saved meanwhile turns into a conflict message that
shows what they changed, never into a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from core.incident.flows import ConflictError, IncidentError
from core.incident.lifecycle import IllegalMove
from core.text import markdown_literal
from db.engine import session_scope
from ui.save import queue_toast

_SEEN = "incident_seen_version_{}"
_NOTICE = "incident_notice_{}"


def seen_version(incident_id: int, current: int) -> int:
    """The version shown to this person before this run (the current one on first view)."""
    return st.session_state.get(_SEEN.format(incident_id), current)


def remember_version(incident_id: int, version: int) -> None:
    """Record the version now on screen."""
    st.session_state[_SEEN.format(incident_id)] = version


def run_change(incident_id: int, change: Callable, success: str, *, reset: Sequence[str] = ()) -> bool:
    """Apply `change(session)` as one unit of work; on success toast `success` and empty the `reset` inputs,
    on a refusal say why and keep what was typed; True when saved."""
    try:
        with session_scope() as session:
            extra = change(session)
    except ConflictError as conflict:
        st.error(markdown_literal(conflict))
        if conflict.changes:
            st.markdown("**Their recent changes**")
            for line in conflict.changes:
                st.markdown(f"- {markdown_literal(line)}")
        # They have now seen the newer version: the next attempt applies to it.
        st.session_state.pop(_SEEN.format(incident_id), None)
        return False
    except (IncidentError, IllegalMove, ValueError) as error:
        st.error(markdown_literal(error))
        return False
    queue_toast(success)
    if isinstance(extra, str):
        # A text to pass on (the escalation's handoff summary): shown once above the page, to copy.
        st.session_state[_NOTICE.format(incident_id)] = (success, extra)
    for key in reset:
        st.session_state.pop(key, None)
    st.session_state.pop(_SEEN.format(incident_id), None)
    st.rerun()
    return True


def pop_notice(incident_id: int) -> tuple[str, str] | None:
    """The text the last saved change handed on (an escalation's handoff summary), once."""
    return st.session_state.pop(_NOTICE.format(incident_id), None)
