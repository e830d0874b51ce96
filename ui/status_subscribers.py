"""The incident's status page subscribers: who hears of updates, adding and removing them (issue 20, being built)."""

from __future__ import annotations

import datetime as dt

from ui.auth import CurrentUser


def subscribers_section(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """The status page tab's subscribers section."""
