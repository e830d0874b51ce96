"""Triage: the checklist, the live classification with its reasons, and "Open incident".

The checklist scrolls in its own column so the classification stays in view while answering.
Opening is idempotent per form (`ui.triage_view.form_token`) and lands on the new incident.
"""

import datetime as dt

import streamlit as st

from core.incident.views import similar_open, triage_page, triage_policy
from core.limits import FREE_TEXT, TITLE
from core.policy.loading import PolicyError
from core.text import markdown_literal
from core.triage.rules import AnswersError, parse_answers, triage
from core.zones import zone
from ui.account_triage import prefill_from_warning
from ui.auth import utcnow
from ui.checklist import checklist
from ui.page import page_setup
from ui.triage_view import (
    details,
    drill_input,
    form_token,
    headline,
    open_incident,
    outage_input,
    twins_notice,
    war_room_input,
)

user = page_setup("triage", "Triage", ":material/emergency:")
st.title("Triage")
st.caption("Answer what you know; the classification updates as you go. Unanswered questions never raise it.")

offer = triage_page(user)
if not offer.accounts:
    st.warning("You own no active account yet. Ask a lead to assign accounts to you.")
    st.stop()
prefill_from_warning(offer.accounts, utcnow())  # ?account=<id>&warning=<rule> from the Account health page
names = offer.policies

left, right = st.columns([3, 2], gap="large")
with left, st.container(height=640, border=False):
    account = st.selectbox("Customer account", offer.accounts, format_func=lambda a: a.label, key="triage_account",
                           index=None, placeholder="Pick the customer's account")
    policy_name = st.selectbox("Policy", names,
                               index=names.index(offer.default_policy) if offer.default_policy in names else 0,
                               key="triage_policy", help="The team default is preselected.")
    title = st.text_input("Title", key="triage_title", max_chars=TITLE.max_chars,
                          placeholder="e.g. Checkout API returns 500s for all users")
    summary = st.text_area("What is happening (internal: never sent to the client)", key="triage_summary",
                           height=90, max_chars=FREE_TEXT.max_chars)
    detected_at: dt.datetime | None = None
    if st.toggle("It started before now", key="triage_earlier",
                 help="Without this, the incident is detected at the moment you open it."):
        local = zone(user.time_zone)
        now_local = utcnow().astimezone(local)
        c1, c2 = st.columns(2)
        day = c1.date_input("Detected on", value=now_local.date(), key="triage_day")
        moment = c2.time_input("at", value=now_local.time().replace(second=0, microsecond=0), key="triage_time",
                               help=f"In your time zone, {user.time_zone}.")
        detected_at = dt.datetime.combine(day, moment, tzinfo=local).astimezone(dt.UTC)
    raw = checklist()
    if account is not None:
        raw.update(customer=account.name, customer_tier=account.tier,
                   annual_contract_value=float(account.annual_contract_value))

with right:
    st.subheader("Classification")
    try:
        answers = parse_answers(raw)
        policy, version = triage_policy(policy_name)
        result = triage(answers, policy, detected_at or utcnow())
    except (AnswersError, PolicyError) as error:
        st.error(markdown_literal(error))
        st.stop()
    shown_at = detected_at or utcnow()
    headline(result, policy, detected_at=shown_at, time_zone=user.time_zone)
    if account is None:
        st.info("Pick the customer's account: its tier and contract can change the classification.")
    twins_notice(similar_open(account.id if account else None, title))
    war_room = war_room_input(result.severity)
    drill = drill_input()
    outage = outage_input(answers)  # asked only when other customers are affected and an outage is open
    form_token()  # from the first drawing on: a second click of the same form carries the same token
    if st.button("Open incident", type="primary", key="triage_open", width="stretch"):
        open_incident(account_id=account.id if account else None, title=title, summary=summary, answers=answers,
                      policy_name=policy_name, detected_at=detected_at, user=user, war_room_url=war_room,
                      is_drill=drill, outage_id=outage)
    st.caption(f"Policy {markdown_literal(policy.title)}, version {version}.")
    details(result, policy, detected_at=shown_at, time_zone=user.time_zone)
