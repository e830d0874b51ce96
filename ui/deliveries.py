"""The admin's view of the outbox: counts per state, the deliveries table, dead letters with a Retry button.

Reading never writes; Retry is the admin's button, saved through `ui.save` and
`core.alerts.delivery.retry_dead_letter` (admins only, audited; it refuses anything but a dead
letter). Texts are shown literally.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from core.alerts.delivery import retry_dead_letter
from core.alerts.views import PAGE_SIZE, STATES, Delivery, DeliveryFilter, deliveries_page
from core.outbox.queue import CHANNELS
from core.text import markdown_literal
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.paging import newer_older
from ui.save import save

STAMP = "%Y-%m-%d %H:%M"


def delivery_filter() -> DeliveryFilter:
    """The page's filters: states, channels, incident number."""
    c1, c2, c3 = st.columns(3)
    states = c1.multiselect("State", list(STATES), key="n_states")
    channels = c2.multiselect("Channel", list(CHANNELS), key="n_channels")
    incident = c3.number_input("Incident #", min_value=1, step=1, value=None, placeholder="all", key="n_incident")
    return DeliveryFilter(tuple(states), tuple(channels), int(incident) if incident else None)


def state_counts(counts: dict[str, int]) -> None:
    """One metric per state."""
    for column, (state, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
        column.metric(state.capitalize(), f"{count:,}")


def deliveries_table(rows: list[Delivery], time_zone: str) -> None:
    """The deliveries on this page as a read-only table."""
    st.dataframe(pd.DataFrame([{
        "ID": r.id, "Incident": r.incident_id, "Rule": r.rule, "Channel": r.channel,
        "To": r.endpoint or r.recipient, "State": r.state, "Attempts": r.attempts,
        "Due": local_time(r.due_at, time_zone, STAMP), "Sent": local_time(r.sent_at, time_zone, STAMP),
        "Acknowledged": local_time(r.acknowledged_at, time_zone, STAMP), "Last error": r.last_error,
    } for r in rows]), hide_index=True, width="stretch")


def show_deliveries(user: CurrentUser) -> None:
    """Filters, counts per state, one page of deliveries (with paging), then that page's dead letters."""
    flt = delivery_filter()
    number = st.session_state.get("n_page", 0)
    found = deliveries_page(flt, page=number)
    state_counts(found.counts)
    if not found.total:
        st.info("No notification matches these filters.")
        return
    pages = max(1, -(-found.total // PAGE_SIZE))
    st.caption(f"{found.total:,} matching · page {min(number, pages - 1) + 1} of {pages}, most recently changed first")
    deliveries_table(found.rows, user.time_zone)
    newer_older("n_page", number, pages)
    dead_letters(found.rows, user)


def _retry(session: Session, notification_id: int, user: CurrentUser) -> None:
    retry_dead_letter(session, notification_id, actor=user.actor, now=utcnow())


def dead_letters(rows: list[Delivery], user: CurrentUser) -> None:
    """The dead letters on this page with their reason, and Retry for each."""
    dead = [r for r in rows if r.state == "dead"]
    if not dead:
        return
    st.subheader("Dead letters")
    st.caption("These gave up after their retries. Fix the cause (the address, the endpoint, the mail server), "
               "then retry: the notification is queued again, due now, with the same dedupe key.")
    for row in dead:
        with st.container(border=True):
            to = markdown_literal(row.endpoint or row.recipient)
            st.markdown(f"**#{row.id}** {markdown_literal(row.rule)} to {to} over {row.channel}, "
                        f"after {row.attempts} attempt(s)")
            st.caption(markdown_literal(row.last_error or "no reason recorded"))
            if st.button("Retry", key=f"retry_{row.id}", icon=":material/replay:"):
                save(lambda s, nid=row.id: _retry(s, nid, user), done=f"Notification #{row.id} queued again.")
