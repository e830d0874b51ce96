"""Admin › Message templates: edit the client messages (each save is a new version) and the email server settings.

A template is checked before it is saved (syntax, fields, sample renders);
a refused draft stays in the editor with every problem and its line.
Messages already sent keep the text they went out with.
"""

import streamlit as st

from core.communication import catalog
from core.communication import smtp as smtp_config
from core.communication.views import smtp_page, template_page
from ui import compose_view
from ui import template_editor as editor
from ui.auth import utcnow
from ui.page import page_setup
from ui.save import save

user = page_setup("templates_admin", "Message templates", ":material/edit_note:")
st.title("Message templates")
editor.notice()

templates_tab, smtp_tab = st.tabs(["Templates", "Email server"])
with templates_tab:
    specs = {spec.key: spec for spec in catalog.catalog()}
    key = st.selectbox("Template", list(specs), key="tpl_pick",
                       format_func=lambda k: f"{specs[k].title} ({specs[k].channel}, {specs[k].audience})")
    spec = specs[key]
    page = template_page(key)
    current = page.current
    if editor.base_key(key) not in st.session_state:
        editor.load_into_editor(key, current.sources, current.version)
    st.caption(f"{spec.use_when}  \nCompose uses "
               + (f"version {current.version}" if current.version else "the shipped file") + ".")
    subject = st.text_input("Subject", key=editor.editor_key(key, "subject")) if spec.channel != "phone" else ""
    text = st.text_area("Plain text", key=editor.editor_key(key, "text"), height=360)
    html = st.text_area("HTML", key=editor.editor_key(key, "html"), height=360) if spec.channel == "email" else ""
    save_col, shipped_col = st.columns(2)
    if save_col.button("Check and save as a new version", type="primary", key="tpl_save"):
        editor.save_draft(spec, subject, text, html, user)
    shipped_col.button("Put the shipped text in the editor", key="tpl_shipped", on_click=editor.load_into_editor,
                       args=(key, catalog.shipped_sources(key), current.version))
    editor.sample_preview(spec, subject, text, html)
    editor.version_history(key, page, user.time_zone)

with smtp_tab:
    smtp, revision = smtp_page()
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
            save(lambda s: smtp_config.save_smtp_settings(
                s, host=host, port=int(port), starttls=starttls, username=username, from_address=from_address,
                expected_revision=revision, actor=user.actor, now=utcnow()),
                done=f"Email settings saved: {host}:{int(port)}.")
