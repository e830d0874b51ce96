"""Admin › Policies: the saved escalation policies, their YAML, versions, the team default."""

from ui.page import page_setup

user = page_setup("policies", "Policies", ":material/policy:")

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core import audit  # noqa: E402
from core.incident import service as incident_queries
from core.policy import store as policy_store
from core.policy.loading import PolicyError, parse_policy, policy_text  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from core.vocabulary import OPEN_STATUSES  # noqa: E402
from db.engine import read_scope, session_scope  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.format import local_time  # noqa: E402

st.title("Policies")
st.caption("A policy is YAML: severities, SLA targets, triage rules, escalation levels, calendars and reviews. "
           "Saving adds a version; open incidents keep the version they were triaged under.")

OPEN = tuple(s.value for s in OPEN_STATUSES)
notice = st.session_state.pop("policies_notice", None)
if notice:
    st.success(markdown_literal(notice))

with read_scope() as session:
    names = policy_store.policy_names(session)
    default = policy_store.default_name(session)
    in_use = incident_queries.open_incident_counts(session)
    latest = {name: policy_store.latest_version(session, name) for name in names}
st.dataframe(
    pd.DataFrame([{"Policy": n, "Title": latest[n].title, "Version": latest[n].version,
                   "Shipped preset": latest[n].is_preset, "Team default": n == default,
                   "Open incidents": in_use.get(n, 0), "Source": latest[n].source} for n in names]),
    hide_index=True, width="stretch",
)

if not names:
    st.info("No policy is saved yet. `python -m core init` installs the shipped presets; or upload one below.")
name = st.selectbox("Policy", names, index=names.index(default) if default in names else 0, key="policy_pick")
if name is not None and name != default and st.button(f"Make {markdown_literal(name)} the team default",
                                                      key="policy_default"):
    with session_scope() as session:
        policy_store.set_default(session, name=name, actor_id=user.id, actor_name=user.username, now=utcnow())
    st.session_state["policies_notice"] = f"{name} is now the team default."
    st.rerun()

edit, in_use_tab, upload, history = st.tabs(["View and edit", "Open incidents using it", "Upload a new policy",
                                             "History"])
with in_use_tab:
    if name is not None:
        with read_scope() as session:
            using, count = incident_queries.search(
                session, incident_queries.IncidentFilter(statuses=OPEN, policy=name), now=utcnow(), page_size=100)
        st.caption(f"{count} open incident{'s' if count != 1 else ''} use {markdown_literal(name)} "
                   "(each keeps the version it was "
                   "opened with; saving a new version changes none of them).")
        if using:
            st.dataframe(pd.DataFrame([{"Open": f"/incident?id={r.id}", "ID": r.id, "Severity": r.severity,
                                        "Customer": r.account, "Title": r.title, "Status": r.status} for r in using]),
                         hide_index=True, width="stretch",
                         column_config={"Open": st.column_config.LinkColumn("Open", display_text="open")})
with edit:
    if name is None:
        st.write("Nothing to edit yet.")
    else:
        text = st.text_area("YAML", value=latest[name].yaml_text, height=480, key=f"policy_yaml_{name}")
        if st.button("Validate and save as a new version", type="primary", key="policy_save"):
            try:
                with session_scope() as session:
                    row = policy_store.save_version(session, name=name, yaml_text=text, actor_id=user.id,
                                                    actor_name=user.username, now=utcnow())
                    number = row.version
            except PolicyError as error:
                st.error(markdown_literal(error))
            else:
                st.session_state["policies_notice"] = f"Saved {name} version {number}."
                st.rerun()

with upload:
    st.write("Upload a YAML policy file. Its `name:` becomes the policy name; an existing name gets a new version.")
    uploaded = st.file_uploader("Policy file", type=["yaml", "yml"], key="policy_upload")
    if uploaded is not None and st.button("Validate and save upload", key="policy_upload_save"):
        try:
            content = policy_text(uploaded.getvalue(), uploaded.name)
            parsed = parse_policy(content, uploaded.name)
            with session_scope() as session:
                row = policy_store.save_version(session, name=parsed.name, yaml_text=content, actor_id=user.id,
                                                actor_name=user.username, now=utcnow())
                saved = (row.name, row.version)
        except PolicyError as error:
            st.error(markdown_literal(error))
        else:
            st.session_state["policies_notice"] = f"Saved {saved[0]} version {saved[1]}."
            st.rerun()

with history, read_scope() as session:
    for entry in audit.entries_for(session, "policy", name, limit=50) if name else []:
        st.markdown(f"**{local_time(entry.at, user.time_zone)}** · {markdown_literal(entry.actor_name)} · "
                    f"{entry.action}")
        diff = entry.changes.get("diff")
        if diff:
            st.code(diff, language="diff")
        elif entry.changes:
            st.caption(markdown_literal(entry.changes))
