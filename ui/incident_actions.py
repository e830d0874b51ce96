"""Running one incident change from a page: the version the person saw, conflicts, messages.

Every change passes the version that was on screen when the person clicked,
so a change someone else saved meanwhile turns into a conflict message that
shows what they changed, never into a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.incident.flows import ConflictError, IncidentError
from core.incident.lifecycle import IllegalMove
from core.text import markdown_literal
from db.engine import session_scope

_SEEN = "incident_seen_version_{}"
_NOTICE = "incident_notice_{}"


def seen_version(incident_id: int, current: int) -> int:
    """The version shown to this person before this run (the current one on first view)."""
    return st.session_state.get(_SEEN.format(incident_id), current)


def remember_version(incident_id: int, version: int) -> None:
    """Record the version now on screen."""
    st.session_state[_SEEN.format(incident_id)] = version


def run_change(incident_id: int, change: Callable, success: str) -> bool:
    """Apply `change(session)` as one unit of work; show the outcome; True when saved."""
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
    st.session_state[_NOTICE.format(incident_id)] = (success, extra if isinstance(extra, str) else None)
    st.session_state.pop(_SEEN.format(incident_id), None)
    st.rerun()
    return True


def pop_notice(incident_id: int) -> tuple[str, str | None] | None:
    """The message of the last saved change, once."""
    return st.session_state.pop(_NOTICE.format(incident_id), None)
