"""The profile's "How I am paged": phone, quiet hours and up to five ordered notification rules.

Reads the person's settings (`core.oncall.notification_rules.how_reached`) without writing, shows
them as one form, and saves through `ui.save` so a refusal is shown above the form and everything
typed stays in the widgets. Core decides what is valid; this module only lays out the fields.
"""

from __future__ import annotations

import streamlit as st

from core.oncall.notification_rules import how_reached, save_how_reached
from core.oncall.reach import CHANNEL_NAMES, MAX_DELAY_MINUTES, MAX_RULES, RULE_CHANNELS, ReachRule
from core.text import markdown_literal
from db.engine import read_scope
from ui.auth import CurrentUser, utcnow
from ui.save import save

NONE = ""  # a rule row left empty


def _channel_label(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, "(no rule)")


def how_i_am_paged(user: CurrentUser) -> None:
    """The form: phone, quiet hours (in the person's zone), rules in order; saved as one change."""
    with read_scope() as session:
        settings = how_reached(session, user.id)
    st.caption("When you are on call and a page reaches you, these rules say how, in order. Without rules you "
               "are reached in the app and by email at once. During your quiet hours a page waits until they "
               "end, unless its severity is one the policy always pages for (P0 and P1 in the presets).")
    with st.form("reach"):
        phone = st.text_input("Phone for SMS pages", value=settings.phone, key="reach_phone", max_chars=40,
                              placeholder="+44 20 7946 0000",
                              help="An international number with its country code, sent through the team's SMS "
                                   "gateway.")
        left, right = st.columns(2)
        quiet_from = left.text_input("Quiet hours from", value=settings.quiet_from, key="reach_quiet_from",
                                     max_chars=5, placeholder="22:00")
        quiet_to = right.text_input("Quiet hours until", value=settings.quiet_to, key="reach_quiet_to",
                                    max_chars=5, placeholder="07:00")
        st.caption(markdown_literal(f"Quiet hours are read in your time zone ({user.time_zone}); leave both empty "
                                    "for none. They may cross midnight (22:00 until 07:00)."))
        options = [NONE, *RULE_CHANNELS]
        rows = []
        for number in range(1, MAX_RULES + 1):
            stored = settings.rules[number - 1] if number <= len(settings.rules) else None
            channel_col, delay_col = st.columns([2, 1])
            channel = channel_col.selectbox(f"Rule {number}", options, key=f"reach_channel_{number}",
                                            index=options.index(stored.channel) if stored else 0,
                                            format_func=_channel_label)
            delay = delay_col.number_input(f"Minutes after the page (rule {number})", min_value=0,
                                           max_value=MAX_DELAY_MINUTES, step=1, key=f"reach_delay_{number}",
                                           value=stored.delay_minutes if stored else 0)
            rows.append((channel, int(delay)))
        submitted = st.form_submit_button("Save how I am paged")
    if submitted:
        rules = [ReachRule(channel, delay) for channel, delay in rows if channel != NONE]
        save(lambda session: save_how_reached(session, user.id, phone=phone, quiet_from=quiet_from,
                                              quiet_to=quiet_to, rules=rules, now=utcnow()),
             done="Your paging settings are saved.")
