"""Triage: the checklist, the live classification with its reasons, and "Open incident"."""

from ui.page import page_setup

user = page_setup("triage", "Triage", ":material/emergency:")

import datetime as dt  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import streamlit as st  # noqa: E402

from core.account import access as accounts  # noqa: E402
from core.incident import flows as incidents
from core.limits import FREE_TEXT, TITLE  # noqa: E402
from core.people.users import Actor  # noqa: E402
from core.policy import store as policy_store
from core.policy.loading import PolicyError  # noqa: E402
from core.text import markdown_literal  # noqa: E402
from core.triage.rules import AnswersError, parse_answers, triage  # noqa: E402
from db.engine import read_scope, session_scope  # noqa: E402
from ui.account_triage import prefill_from_warning  # noqa: E402
from ui.auth import utcnow  # noqa: E402
from ui.checklist import checklist  # noqa: E402
from ui.triage_view import show_result  # noqa: E402

st.title("Triage")
st.caption("Answer what you know; the classification updates as you go. Unanswered questions never raise it.")

opened = st.session_state.pop("triage_opened", None)
if opened:
    st.success(f"Incident #{opened[0]} opened as {opened[1]}.")
    st.markdown("[Go to my open incidents](/)")

with read_scope() as session:
    choices = accounts.accounts_for(session, user_id=user.id, role=user.role)
    names = policy_store.policy_names(session)
    default_policy = policy_store.default_name(session)
if not choices:
    st.warning("You own no active account yet. Ask a lead to assign accounts to you.")
    st.stop()
prefill_from_warning(choices, utcnow())  # ?account=<id>&warning=<rule> from the Account health page

left, right = st.columns([3, 2], gap="large")
with left:
    account = st.selectbox("Customer account", choices, format_func=lambda a: a.label, key="triage_account")
    policy_name = st.selectbox("Policy", names, index=names.index(default_policy) if default_policy in names else 0,
                               key="triage_policy", help="The team default is preselected.")
    title = st.text_input("Title", key="triage_title", max_chars=TITLE.max_chars, placeholder="e.g. Checkout API returns 500s for all users")
    summary = st.text_area("What is happening", key="triage_summary", height=90, max_chars=FREE_TEXT.max_chars)
    zone = ZoneInfo(user.time_zone)
    now_local = utcnow().astimezone(zone)
    c1, c2 = st.columns(2)
    day = c1.date_input("Detected on", value=now_local.date(), key="triage_day")
    moment = c2.time_input("at", value=now_local.time().replace(second=0, microsecond=0), key="triage_time",
                           help=f"In your time zone, {user.time_zone}.")
    detected_at = dt.datetime.combine(day, moment, tzinfo=zone).astimezone(dt.UTC)
    raw = checklist()
    raw.update(customer=account.name, customer_tier=account.tier,
               annual_contract_value=float(account.annual_contract_value))

with right:
    st.subheader("Classification")
    try:
        answers = parse_answers(raw)
        with read_scope() as session:
            policy, version = policy_store.load(session, policy_name)
        result = triage(answers, policy, detected_at)
    except (AnswersError, PolicyError) as error:
        st.error(markdown_literal(error))
        st.stop()
    show_result(result, policy, detected_at=detected_at, time_zone=user.time_zone)
    st.caption(f"Policy {markdown_literal(policy.title)}, version {version}.")
    if st.button("Open incident", type="primary", key="triage_open", width="stretch"):
        try:
            with session_scope() as session:
                created = incidents.open_incident(
                    session, account_id=account.id, title=title, summary=summary, answers=answers,
                    policy_name=policy_name, actor=Actor(user.id, user.username), now=utcnow(),
                    detected_at=detected_at, owner_id=user.id,
                )
        except (incidents.IncidentError, PolicyError) as error:
            st.error(markdown_literal(error))
        else:
            for key in [k for k in st.session_state if str(k).startswith(("answer_", "triage_"))]:
                del st.session_state[key]
            st.session_state["triage_opened"] = (created.id, created.result.severity)
            st.rerun()
