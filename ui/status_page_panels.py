"""The incident's Status page tab: the link to share, revoking it, and posting updates (issue 20, being built)."""

from __future__ import annotations

import datetime as dt

from ui.auth import CurrentUser


def status_page_section(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """The status page tab's link and posting sections."""
