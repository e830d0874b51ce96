"""The Message templates page's editor: draft widgets, the checked save, the sample preview, the history.

A draft lives in widget state keyed by template and part, so a refused save
keeps every character typed and lists each problem with its line. Reads come
from `core.communication.views`; a save is one unit of work through
`core.communication.flows`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.communication import catalog, sandbox
from core.communication import context as message_context
from core.communication import errors as comm_errors
from core.communication import fields as message_fields
from core.communication import flows as comms
from core.communication import render as messages
from core.communication import store as template_store
from core.communication.catalog import TemplateSources, TemplateSpec
from core.communication.views import TemplatePage
from core.text import markdown_literal
from db.engine import session_scope
from ui import compose_view
from ui.auth import CurrentUser, utcnow
from ui.format import local_time

PARTS = ("subject", "text", "html")
NOTICE = "templates_notice"


def editor_key(key: str, part: str) -> str:
    """The widget key of one part of one template's draft."""
    return f"tpl_{part}_{key}"


def base_key(key: str) -> str:
    """The session key of the version the draft started from."""
    return f"tpl_base_{key}"


def load_into_editor(key: str, sources: TemplateSources, version: int | None) -> None:
    """Put a template's text into the editor (callback: runs before the widgets are drawn)."""
    for part in PARTS:
        st.session_state[editor_key(key, part)] = getattr(sources, part)
    st.session_state[base_key(key)] = version


def notice() -> None:
    """The last save's confirmation, once."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(markdown_literal(message))


def save_draft(spec: TemplateSpec, subject: str, text: str, html: str, user: CurrentUser) -> None:
    """Check and save the draft as a new version; rerun with a notice, or list every problem and keep the draft."""
    key = spec.key
    try:
        with session_scope() as session:
            number = template_store.save_template(session, key=key, subject=subject, text=text, html=html,
                                         expected_version=st.session_state[base_key(key)],
                                         actor=user.actor, now=utcnow()).version
    except comm_errors.TemplateRejected as refused:
        st.error("Not saved: fix these and save again (your draft is still in the editor).")
        for problem in refused.problems:
            where = f"{problem.part} part" + (f", line {problem.line}" if problem.line else "")
            st.error(markdown_literal(f"{where}: {problem.message}"))
        return
    except (comms.CommunicationError, sandbox.RenderError) as error:
        st.error(markdown_literal(error))
        return
    st.session_state.pop(base_key(key))
    st.session_state[NOTICE] = f"Saved {spec.title} as version {number}; new messages use it."
    st.rerun()


def sample_preview(spec: TemplateSpec, subject: str, text: str, html: str) -> None:
    """The draft rendered with sample data, and the fields a template of this audience may use."""
    with st.expander("Preview the draft with sample data"):
        try:
            sample = messages.render(spec, message_context.sample_context(), subject_src=subject, text_src=text,
                                     html_src=html)
        except sandbox.RenderError as error:
            st.error(markdown_literal(error))
        else:
            if sample.subject:
                st.code(sample.subject, language=None)
            st.code(sample.text, language=None, wrap_lines=True)
            if sample.html:
                compose_view.html_preview(sample.html, height=480)
    with st.expander("Fields a template may use"):
        st.dataframe(pd.DataFrame([{"Field": f.name, "Meaning": f.description}
                                   for f in message_fields.context_fields(spec.audience)]), hide_index=True,
                     width="stretch")


def version_history(key: str, page: TemplatePage, time_zone: str) -> None:
    """Every saved version of the template and the shipped file, each saved text in an expander."""
    st.subheader("Version history")
    rows = [{"Version": str(h.version), "Saved": local_time(h.saved_at, time_zone), "By": h.saved_by,
             "Subject": h.subject} for h in page.history]
    rows.append({"Version": "shipped", "Saved": "with the app", "By": "",
                 "Subject": catalog.shipped_sources(key).subject})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for h in page.history:
        with st.expander(f"Version {h.version} · {local_time(h.saved_at, time_zone)} · "
                         f"{markdown_literal(h.saved_by)}"):
            st.code(h.text, language=None, wrap_lines=True)
            if h.html:
                st.code(h.html, language="html", wrap_lines=True)
