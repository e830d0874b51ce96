"""The incident page's follow controls and drill marks: Follow / Unfollow, who follows, adding someone, DRILL.

Renders `core.incident.followers.FollowPanel` and saves through `ui.save.save`; who may add whom is
decided in core (`core.incident.followers`). Nothing here queries or decides a rule.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.incident import followers as follows
from core.text import markdown_literal
from ui.auth import CurrentUser, utcnow
from ui.save import save

# The badge every page shows on a drill incident, and what a drill means, in one place.
DRILL_BADGE = ":violet-background[**DRILL**]"
DRILL_MEANING = ("This incident is a drill: an exercise. Every notification about it says DRILL, and the SLA "
                 "dashboard, objectives and account health leave it out.")


def drill_title(title: str, is_drill: bool) -> str:
    """A list's title cell: a drill's title starts with DRILL, so a table row says it too."""
    return f"DRILL · {title}" if is_drill else title


def drill_banner(is_drill: bool) -> None:
    """On a drill incident, a banner saying so above everything else; nothing otherwise."""
    if is_drill:
        st.warning(f"**DRILL** · {DRILL_MEANING}", icon=":material/sports_score:")


def follow_controls(incident_id: int, user: CurrentUser,
                    places: tuple[DeltaGenerator, DeltaGenerator, DeltaGenerator] | None = None) -> None:
    """The viewer's Follow / Unfollow button, (leads, admins) adding someone, and the followers by name, in the
    three `places` given (the cockpit's row beside the war room link, above the main path's buttons)."""
    panel = follows.follow_panel(incident_id, viewer_id=user.id, role=user.role)
    actor = user.actor
    toggle, add, names_place = places or st.columns([1, 1.4, 2.6], vertical_alignment="center")
    if panel.following:
        if toggle.button("Unfollow", key="follow_toggle", icon=":material/notifications_off:",
                         help="Stop getting a notice when the level, severity or status changes."):
            save(lambda s: follows.unfollow(s, incident_id, user.id, actor, utcnow()),
                 done="You no longer follow this incident.")
    elif toggle.button("Follow", key="follow_toggle", icon=":material/notifications:",
                       help="Get a notice in your inbox and by email when the level, severity or status changes."):
        save(lambda s: follows.follow(s, incident_id, user.id, actor, utcnow()),
             done="You follow this incident: level, severity and status changes reach you.")
    names = ", ".join(f.name for f in panel.followers)
    names_place.caption(markdown_literal(f"Followed by {names}") if names else "Nobody follows this incident yet.")
    if panel.may_add_others:
        choices = dict(panel.candidates)
        with add.popover("Add a follower", icon=":material/person_add:"):
            chosen = st.selectbox("Team member", list(choices), format_func=choices.get, key="follow_add_user",
                                  index=None, placeholder="Pick someone, e.g. the account executive")
            if st.button("Add follower", key="follow_add"):
                if chosen is None:
                    st.error("Pick the team member to add first.")
                else:
                    save(lambda s: follows.follow(s, incident_id, chosen, actor, utcnow()),
                         done=f"{choices[chosen]} now follows this incident.", reset=["follow_add_user"])
