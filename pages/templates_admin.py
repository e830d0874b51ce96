"""Admin › Message templates: edit the client messages (each save is a new version) and the email server settings.

A template is checked before it is saved (syntax, fields, sample renders);
a refused draft stays in the editor with every problem and its line.
Messages already sent keep the text they went out with.
"""

from ui.page import page_setup

user = page_setup("templates_admin", "Message templates", ":material/edit_note:")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.communication import flows as comms  # noqa: E402
from core.communication.catalog import TemplateSources, catalog, shipped_sources  # noqa: E402
from core.communication.context import sample_context  # noqa: E402
from core.communication.errors import SettingsError, TemplateRejected  # noqa: E402
from core.communication.fields import context_fields  # noqa: E402
from core.communication.render import render
from core.communication.sandbox import RenderError  # noqa: E402
from core.communication.smtp import save_smtp_settings, smtp_settings  # noqa: E402
from core.communication.store import current_template, save_template, template_history  # noqa: E402
from core.people.users import Actor  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from db.engine import read_scope, session_scope  # noqa: E402
from ui import compose_view  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import local_time  # noqa: E402

st.title("Message templates")
notice = st.session_state.pop("templates_notice", None)
if notice:
    st.success(markdown_literal(notice))
actor = Actor(user.id, user.username)
PARTS = ("subject", "text", "html")


def editor_key(key: str, part: str) -> str:
    """The widget key of one part of one template's draft."""
    return f"tpl_{part}_{key}"


def load_into_editor(key: str, sources: TemplateSources, version: int | None) -> None:
    """Put a template's text into the editor (callback: runs before the widgets are drawn)."""
    for part in PARTS:
        st.session_state[editor_key(key, part)] = getattr(sources, part)
    st.session_state[f"tpl_base_{key}"] = version


templates_tab, smtp_tab = st.tabs(["Templates", "Email server"])
with templates_tab:
    specs = {spec.key: spec for spec in catalog()}
    key = st.selectbox("Template", list(specs), key="tpl_pick",
                       format_func=lambda k: f"{specs[k].title} ({specs[k].channel}, {specs[k].audience})")
    spec = specs[key]
    with read_scope() as session:
        current = current_template(session, key)
        history = template_history(session, key)
    if f"tpl_base_{key}" not in st.session_state:
        load_into_editor(key, current.sources, current.version)
    st.caption(f"{spec.use_when}  \nCompose uses "
               + (f"version {current.version}" if current.version else "the shipped file") + ".")
    subject = st.text_input("Subject", key=editor_key(key, "subject")) if spec.channel != "phone" else ""
    text = st.text_area("Plain text", key=editor_key(key, "text"), height=360)
    html = st.text_area("HTML", key=editor_key(key, "html"), height=360) if spec.channel == "email" else ""
    save_col, shipped_col = st.columns(2)
    if save_col.button("Check and save as a new version", type="primary", key="tpl_save"):
        try:
            with session_scope() as session:
                number = save_template(session, key=key, subject=subject, text=text, html=html,
                                       expected_version=st.session_state[f"tpl_base_{key}"], actor=actor,
                                       now=utcnow()).version
        except TemplateRejected as refused:
            st.error("Not saved: fix these and save again (your draft is still in the editor).")
            for problem in refused.problems:
                where = f"{problem.part} part" + (f", line {problem.line}" if problem.line else "")
                st.error(markdown_literal(f"{where}: {problem.message}"))
        except (comms.CommunicationError, RenderError) as error:
            st.error(markdown_literal(error))
        else:
            st.session_state.pop(f"tpl_base_{key}")
            st.session_state["templates_notice"] = f"Saved {spec.title} as version {number}; new messages use it."
            st.rerun()
    shipped_col.button("Put the shipped text in the editor", key="tpl_shipped", on_click=load_into_editor,
                       args=(key, shipped_sources(key), current.version))

    with st.expander("Preview the draft with sample data"):
        try:
            sample = render(spec, sample_context(), subject_src=subject, text_src=text,
                                     html_src=html)
        except RenderError as error:
            st.error(markdown_literal(error))
        else:
            if sample.subject:
                st.code(sample.subject, language=None)
            st.code(sample.text, language=None, wrap_lines=True)
            if sample.html:
                compose_view.html_preview(sample.html, height=480)
    with st.expander("Fields a template may use"):
        st.dataframe(pd.DataFrame([{"Field": f.name, "Meaning": f.description}
                                   for f in context_fields(spec.audience)]), hide_index=True,
                     width="stretch")

    st.subheader("Version history")
    rows = [{"Version": str(h.version), "Saved": local_time(h.saved_at, user.time_zone), "By": h.saved_by,
             "Subject": h.subject} for h in history]
    rows.append({"Version": "shipped", "Saved": "with the app", "By": "",
                 "Subject": shipped_sources(key).subject})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for h in history:
        with st.expander(f"Version {h.version} · {local_time(h.saved_at, user.time_zone)} · "
                         f"{markdown_literal(h.saved_by)}"):
            st.code(h.text, language=None, wrap_lines=True)
            if h.html:
                st.code(h.html, language="html", wrap_lines=True)

with smtp_tab:
    with read_scope() as session:
        smtp, revision = smtp_settings(session)
    st.write("Compose sends email through this server. The password is never stored here: put it in "
             f"`.streamlit/secrets.toml` as `{compose_view.PASSWORD_SECRET}` or in the environment variable "
             f"`{compose_view.PASSWORD_ENV}`.")
    st.caption("A password is " + ("available" if compose_view.smtp_password() else "not set") + " for this app "
               "process." + ("" if smtp else " Sending is off until the settings below are saved."))
    with st.form("smtp_settings"):
        host = st.text_input("Host", value=smtp.host if smtp else "", key="smtp_host",
                             placeholder="smtp.example.com")
        port = st.number_input("Port", min_value=1, max_value=65535, value=smtp.port if smtp else 587,
                               key="smtp_port")
        starttls = st.checkbox("Use STARTTLS (required when a username is set, except on this machine)",
                               value=smtp.starttls if smtp else True, key="smtp_starttls")
        username = st.text_input("Username (empty: no login)", value=smtp.username if smtp else "",
                                 key="smtp_username")
        from_address = st.text_input("From address", value=smtp.from_address if smtp else "", key="smtp_from",
                                     placeholder="Customer Success <success@example.com>")
        if st.form_submit_button("Save email settings"):
            try:
                with session_scope() as session:
                    save_smtp_settings(session, host=host, port=int(port), starttls=starttls,
                                       username=username, from_address=from_address,
                                       expected_revision=revision, actor=actor, now=utcnow())
            except SettingsError as error:
                st.error(markdown_literal(error))
            else:
                st.session_state["templates_notice"] = f"Email settings saved: {host}:{int(port)}."
                st.rerun()
