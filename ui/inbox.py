"""The signed-in person's notifications in the app: the sidebar's unread count and toast, and the Inbox list.

The sidebar part is a fragment that re-reads one cheap count every `POLL_SECONDS` while the tab is
open, and shows a toast when a newer notification than the last one it saw arrives (not for those
already there when the tab opened). Reading never writes: marking read and acknowledging are the
person's buttons, saved through `ui.save`. Every stored text is shown literally.
"""

from __future__ import annotations

import streamlit as st

from core.alerts.acknowledge import acknowledge_own, mark_read
from core.alerts.views import InboxItem, unread_of
from core.text import markdown_literal
from ui.auth import CurrentUser, utcnow
from ui.format import local_time
from ui.links import go_to, incident_link
from ui.save import save

POLL_SECONDS = 20
_SEEN = "_inbox_newest_seen"


@st.fragment(run_every=POLL_SECONDS)
def inbox_badge(user_id: int) -> None:
    """The sidebar's link to the Inbox with the unread count; a toast for each newer arrival while open."""
    news = unread_of(user_id, now=utcnow())
    # A button, not st.page_link: a page served before the router ran has no registered pages to link to.
    label = f"Inbox ({news.count} unread)" if news.count else "Inbox"
    if st.button(label, key="inbox_badge", icon=":material/notifications:", width="stretch",
                 type="primary" if news.count else "secondary"):
        go_to("inbox")
    seen = st.session_state.get(_SEEN)
    newest = news.newest_id or 0
    if seen is not None and newest > seen:
        st.toast(f"New alert: {markdown_literal(news.newest_subject)}", icon=":material/notifications_active:")
    if seen is None or newest > seen:
        st.session_state[_SEEN] = newest


def inbox_item(item: InboxItem, user: CurrentUser) -> None:
    """One notification: subject, when, the message, its incident, and the person's buttons."""
    with st.container(border=True):
        state = "acknowledged" if item.acknowledged_at else ("read" if item.read_at else "**new**")
        st.markdown(f"{markdown_literal(item.subject)}  \n"
                    f"{local_time(item.at, user.time_zone)} · {state}")
        st.caption(markdown_literal(item.body))
        columns = st.columns(3)
        with columns[0]:
            if item.incident_id is not None:
                incident_link(item.incident_id, f"Open incident #{item.incident_id}", icon=":material/crisis_alert:")
        if item.read_at is None and columns[1].button("Mark read", key=f"read_{item.id}"):
            save(lambda s: mark_read(s, [item.id], user_id=user.id, now=utcnow()), done="Marked read.")
        if item.acknowledged_at is None and columns[2].button("Acknowledge", key=f"ack_{item.id}", type="primary",
                                                               help="Tell the team you have seen it; stops this "
                                                                    "alert's reminders."):
            save(lambda s: acknowledge_own(s, item.id, user_id=user.id, now=utcnow()), done="Acknowledged.")
        elif item.acknowledged_at is not None:
            columns[2].caption(f"Acknowledged {local_time(item.acknowledged_at, user.time_zone)}")


def mark_page_read(items: list[InboxItem], user: CurrentUser) -> None:
    """A button that marks every unread notification on this page read."""
    unread = [i.id for i in items if i.read_at is None]
    if unread and st.button(f"Mark these {len(unread)} read", key="read_page"):
        save(lambda s: mark_read(s, unread, user_id=user.id, now=utcnow()), done="Marked read.")
