"""Write to the client: pick an incident and a message, edit the prefilled fields, preview, then copy, download or send.

Open it for one incident with `?id=<number>`. A message that was sent or
marked sent goes into the incident's communication log and restarts the
client-update clock; a refused or failed one keeps the draft and logs nothing.
"""

import streamlit as st

from core.communication import catalog, sandbox
from core.communication import flows as comms
from core.communication.views import compose_choices, compose_page, preview
from core.text import markdown_literal
from ui import compose_actions as actions
from ui import compose_view as view
from ui.auth import utcnow
from ui.format import local_time, time_left
from ui.incident_actions import remember_version, seen_version
from ui.links import incident_link
from ui.page import page_setup
from ui.status_page_panels import status_link

user = page_setup("compose", "Write to the client", ":material/mail:")
st.title("Write to the client")
now = utcnow()
choices = compose_choices(user)
raw_id = st.query_params.get("id", "")
if raw_id.isdigit() and int(raw_id) not in choices:
    choices = {int(raw_id): f"#{raw_id}", **choices}
if not choices:
    st.info("No incident to write about: you see incidents of the accounts you own. Open one from Triage first.")
    st.stop()
ids = list(choices)
incident_id = st.selectbox("Incident", ids, index=ids.index(int(raw_id)) if raw_id.isdigit() else 0,
                           format_func=choices.get, key="compose_incident")
st.query_params["id"] = str(incident_id)

page = compose_page(incident_id, viewer=user, now=now, status_page_url=status_link(incident_id))
if page is None:
    st.error(f"There is no incident #{incident_id}. Check the number in the link.")
    st.stop()
source, smtp = page.source, page.smtp
if not page.may_write:
    st.error("You write to clients of your own accounts only; this incident belongs to another CSM's account. "
             "A lead or an admin can write for any account.")
    st.stop()

expected = seen_version(incident_id, source.version)
notice = view.pop_notice(incident_id)
if notice:
    st.success(markdown_literal(notice))
due = source.next_update_due_at
incident_link(incident_id, f"Open incident #{incident_id}", icon=":material/crisis_alert:")
view.drill_warning(source.is_drill)
st.markdown(f"{source.severity} · " + (
    f"next client update due **{local_time(due, user.time_zone)}** ({time_left(due, now)})" if due
    else "no client update due"))

specs = {spec.key: spec for spec in catalog.catalog()}
keys = list(specs)
key = st.selectbox("Message", keys, index=keys.index(source.suggested_template), key=f"compose_template_{incident_id}",
                   format_func=lambda k: f"{specs[k].title} ({specs[k].channel})")
spec = specs[key]
st.caption(f"Use it: {spec.use_when}")

fields = page.fields[key]
view.update_promise_notice(source, page.computed[key], user.time_zone, now)
with st.expander("Fields, prefilled from the record (times in the client's zone, "
                 f"{source.context.client_time_zone})", expanded=True):
    edits = view.field_editors(source, fields, spec.requires)
    st.button("Refill every field from the record", key="compose_refill", on_click=view.clear_draft,
              args=(incident_id,))
recipients, cc = view.recipients_input(source, spec.channel)

try:
    prepared = preview(key=key, context=comms.apply_edits(source.context, edits))
except (comms.CommunicationError, sandbox.RenderError) as error:
    st.error(markdown_literal(f"{error} Your draft is kept; correct the field and the preview comes back."))
    remember_version(incident_id, source.version)
    st.stop()
if prepared.missing:
    st.warning("Still empty, and needed before this message goes out: " + ", ".join(prepared.missing) + ".")

st.caption(f"Times in this message are in the client's zone, {source.context.client_time_zone}. "
           f"Other times on this page are in {user.time_zone}.")
if prepared.subject:
    st.markdown("**Subject**")
    st.code(prepared.subject, language=None)
text_col, html_col = st.columns(2) if prepared.html else (st.container(), None)
with text_col:
    st.markdown("**Plain text** (copy button at the top right)")
    st.code(prepared.text, language=None, wrap_lines=True)
if html_col is not None:
    with html_col:
        st.markdown("**HTML, as the client will see it**")
        view.html_preview(prepared.html)

if spec.channel == "email":
    actions.email_actions(source, prepared, recipients, cc, smtp, user, expected, now, edits)
else:
    actions.other_actions(source, prepared, recipients, user, expected)

remember_version(incident_id, source.version)
