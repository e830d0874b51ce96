"""Admin › Policies: the saved escalation policies, their YAML, versions, the team default."""

import streamlit as st

from core.incident.views import policies_page, policy_use
from core.text import markdown_literal
from ui import policy_panels as panel
from ui.auth import utcnow
from ui.page import page_setup
from ui.save import save

user = page_setup("policies", "Policies", ":material/policy:")
st.title("Policies")
st.caption("A policy is YAML: severities, SLA targets, triage rules, escalation levels, calendars and reviews. "
           "Saving adds a version; open incidents keep the version they were triaged under.")
panel.notice()

listing = policies_page()
names, default = listing.names, listing.default
panel.policy_list(listing)
if not names:
    st.info("No policy is saved yet. `python -m core init` installs the shipped presets; or upload one below.")
name = st.selectbox("Policy", names, index=names.index(default) if default in names else 0, key="policy_pick")
if name is not None and name != default and st.button(f"Make {markdown_literal(name)} the team default",
                                                      key="policy_default"):
    save(lambda s: panel.make_default(s, name, user), done=f"{name} is now the team default.")
use = policy_use(name, now=utcnow()) if name is not None else None

edit, in_use_tab, upload, history = st.tabs(["View and edit", "Open incidents using it", "Upload a new policy",
                                             "History"])
with in_use_tab:
    if name is not None and use is not None:
        panel.open_incidents(name, use)
with edit:
    if name is None:
        st.write("Nothing to edit yet.")
    else:
        text = st.text_area("YAML", value=listing.row(name).yaml_text, height=480, key=f"policy_yaml_{name}")
        if st.button("Validate and save as a new version", type="primary", key="policy_save"):
            panel.save_version(name, text, user)
with upload:
    st.write("Upload a YAML policy file. Its `name:` becomes the policy name; an existing name gets a new version.")
    uploaded = st.file_uploader("Policy file", type=["yaml", "yml"], key="policy_upload")
    if uploaded is not None and st.button("Validate and save upload", key="policy_upload_save"):
        panel.save_upload(uploaded.getvalue(), uploaded.name, user)
with history:
    if use is not None:
        panel.history(use, user.time_zone)
